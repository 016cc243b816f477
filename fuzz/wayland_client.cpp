// The requests a Wayland client sends to vmcast's socket (--wayland): vmcast's headless wlroots
// compositor with its Wayland server, its globals and one console output, made once; each input
// is one new client on a socketpair, whose requests are decoded from the input (see
// write_requests), dispatched until the server has read them all, then the client goes. A
// protocol error that disconnects the client is a fine outcome; a crash or an assert is not.
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include <glib.h>
#include <wayland-server-core.h>
#include <wayland-server-protocol.h>

#include "common/unique_fd.h"
#include "compositor/compositor.h"
#include "compositor/console_output.h"
#include "compositor/wl_listener.h"
#include "frame/cursor.h"
#include "input_reader.h"

namespace {

using vmcast::UniqueFd;
using vmcast_fuzz::InputReader;

// Input that goes nowhere: the console's QEMU is not here.
class NoInput : public vmcast::ConsoleInputUser {
    void press_key(uint32_t) override {}
    void release_key(uint32_t) override {}
    void press_button(uint32_t) override {}
    void release_button(uint32_t) override {}
    void scroll(int32_t, int32_t) override {}
    void move_to(int32_t, int32_t) override {}
    void move_by(int32_t, int32_t) override {}
};

// So fast that a frame is due whenever the loop runs: a screencopy request is answered within
// the input, as at a real frame rate a little later.
constexpr int kFramesPerSecond = 100000;

struct Global {
    uint32_t name;
    const wl_interface *interface;
    uint32_t version;
};

struct Server {
    std::unique_ptr<vmcast::compositor::Compositor> compositor;
    vmcast::frame::Cursor cursor;
    std::unique_ptr<vmcast::compositor::ConsoleOutput> output;
    std::unique_ptr<vmcast::compositor::AttachedConsoleInput> input;
    std::vector<Global> globals;
    std::string directory;
};
Server *server = nullptr; // for the whole process

// Bytes and fds the server sent the client: read and dropped (fds closed), so its queue never
// fills. With registry, the globals it announces are noted.
void drain(int fd, uint32_t registry = 0, std::vector<Global> *globals = nullptr) {
    uint8_t buffer[65536];
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * 28)];
    for (;;) {
        iovec io = {buffer, sizeof(buffer)};
        msghdr message = {};
        message.msg_iov = &io;
        message.msg_iovlen = 1;
        message.msg_control = control;
        message.msg_controllen = sizeof(control);
        const ssize_t got = recvmsg(fd, &message, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
        if (got <= 0)
            return;
        for (cmsghdr *c = CMSG_FIRSTHDR(&message); c; c = CMSG_NXTHDR(&message, c)) {
            const size_t fds = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
            for (size_t i = 0; i < fds; ++i)
                close(reinterpret_cast<int *>(CMSG_DATA(c))[i]);
        }
        // wl_registry.global: name, interface (length, bytes), version.
        for (ssize_t at = 0; globals && at + 8 <= got;) {
            uint32_t header[4];
            memcpy(header, buffer + at, std::min<size_t>(sizeof(header), size_t(got - at)));
            const uint32_t size = header[1] >> 16;
            if (header[0] == registry && (header[1] & 0xffff) == 0 && size >= 16 &&
                at + size <= got) {
                uint32_t version;
                memcpy(&version, buffer + at + size - 4, sizeof(version));
                globals->push_back({header[2], nullptr, version});
            }
            at += size ? size : got;
        }
    }
}

// Runs vmcast's main loop (its Wayland source, the output's frame clock) until the server has read
// everything the client sent, or dropped the client, and the frames that asked for (screencopy)
// went out. registry and globals as for drain.
void serve(int server_fd, const bool &alive, int client_fd, uint32_t registry = 0,
           std::vector<Global> *globals = nullptr) {
    for (int round = 0; round < 1000 && alive; ++round) {
        g_main_context_iteration(nullptr, false);
        drain(client_fd, registry, globals);
        int unread = 0;
        if (!alive || ioctl(server_fd, FIONREAD, &unread) != 0 || (unread == 0 && round >= 3))
            break;
    }
}

struct Client {
    wl_client *client = nullptr;
    int server_fd = -1; // the server's end, the client's own
    UniqueFd fd;        // the client's end
    bool alive = false;
    vmcast::compositor::WlListener<wl_client> destroyed;
};

void connect(Client &client) {
    int ends[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, ends) != 0)
        abort();
    client.fd = UniqueFd(ends[0]);
    client.server_fd = ends[1];
    client.client = wl_client_create(server->compositor->display(), ends[1]);
    if (!client.client)
        abort();
    client.alive = true;
    client.destroyed.connect_by(
        [&](wl_listener *listener) { wl_client_add_destroy_listener(client.client, listener); },
        [&](wl_client *) { client.alive = false; });
}

void disconnect(Client &client) {
    if (client.alive)
        wl_client_destroy(client.client);
    client.fd.reset();
}

void send(int fd, const std::vector<uint32_t> &words, const std::vector<UniqueFd> &fds = {}) {
    iovec io = {const_cast<uint32_t *>(words.data()), words.size() * 4};
    msghdr message = {};
    message.msg_iov = &io;
    message.msg_iovlen = 1;
    std::vector<cmsghdr> control(CMSG_SPACE(sizeof(int) * fds.size()) / sizeof(cmsghdr) + 1);
    if (!fds.empty()) {
        message.msg_control = control.data();
        message.msg_controllen = CMSG_SPACE(sizeof(int) * fds.size());
        cmsghdr *c = CMSG_FIRSTHDR(&message);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
        for (size_t i = 0; i < fds.size(); ++i)
            reinterpret_cast<int *>(CMSG_DATA(c))[i] = fds[i].get();
    }
    sendmsg(fd, &message, MSG_DONTWAIT | MSG_NOSIGNAL);
}

// A memfd of a size from the input, starting with bytes from it (a keymap, a shm pool).
UniqueFd fuzzed_memfd(InputReader &input) {
    const uint32_t size = input.u32() % (1u << 24);
    const std::span<const uint8_t> content = input.bytes(input.u16() % 4096);
    UniqueFd fd(memfd_create("vmcast-fuzz", MFD_CLOEXEC));
    if (fd.get() < 0 || ftruncate(fd.get(), std::max<off_t>(size, off_t(content.size()))) != 0 ||
        write(fd.get(), content.data(), content.size()) != ssize_t(content.size()))
        abort();
    lseek(fd.get(), 0, SEEK_SET);
    return fd;
}

// A string (its length counts the NUL the padding brings) or an array, padded to 4 bytes.
void add_bytes(std::vector<uint32_t> &words, std::span<const uint8_t> bytes, bool string) {
    words.push_back(uint32_t(bytes.size() + (string ? 1 : 0)));
    const size_t first = words.size();
    words.resize(first + (bytes.size() + (string ? 4 : 3)) / 4);
    if (!bytes.empty())
        memcpy(&words[first], bytes.data(), bytes.size());
}

// Each request: a byte picking a known object (an id this client made, with its interface), a
// byte picking the opcode (within the interface's requests; 0x80 and up: any), a byte of flags
// (bit 0: a wrong size field, a u16 from the input), then the arguments its signature asks for,
// each from the input: numbers as u32; strings and arrays as a length byte and bytes; objects
// as a byte picking a known object (0xff: id 0); new ids are the next id; fds are memfds.
// wl_registry.bind binds the global a byte picks, at a version byte (0: the global's). A
// request whose first byte is 0xff is raw bytes instead (a u8 length and bytes).
void write_requests(InputReader &input, int fd) {
    struct Object {
        uint32_t id;
        const wl_interface *interface;
    };
    std::vector<Object> objects = {{1, &wl_display_interface}};
    uint32_t next_id = 2;
    for (int request = 0; request < 64 && !input.empty(); ++request) {
        const uint8_t object_byte = input.byte();
        if (object_byte == 0xff) {
            const std::span<const uint8_t> raw = input.bytes(input.byte());
            std::vector<uint32_t> words;
            add_bytes(words, raw, false);
            words.erase(words.begin()); // no length word: the bytes alone
            send(fd, words);
            continue;
        }
        const Object object = objects[object_byte % objects.size()];
        const uint8_t opcode_byte = input.byte();
        const int methods = object.interface->method_count;
        const uint32_t opcode = (opcode_byte & 0x80) || methods == 0
                                    ? uint32_t(opcode_byte & 0x7f)
                                    : uint32_t(opcode_byte % methods);
        const uint8_t flags = input.byte();
        std::vector<uint32_t> words = {object.id, 0};
        std::vector<UniqueFd> fds;
        if (object.interface == &wl_registry_interface && opcode == 0 && !server->globals.empty()) {
            const Global &global = server->globals[input.byte() % server->globals.size()];
            const uint8_t version = input.byte();
            const char *name = global.interface->name;
            words.push_back(global.name);
            add_bytes(words, {reinterpret_cast<const uint8_t *>(name), strlen(name)}, true);
            words.push_back(version ? version : global.version);
            words.push_back(next_id);
            objects.push_back({next_id++, global.interface});
        } else if (int(opcode) < methods) {
            const wl_message &message = object.interface->methods[opcode];
            int arg = 0;
            for (const char *type = message.signature; *type; ++type) {
                switch (*type) {
                case 'i':
                case 'u':
                case 'f':
                    words.push_back(input.u32());
                    break;
                case 's':
                case 'a':
                    add_bytes(words, input.bytes(input.byte()), *type == 's');
                    break;
                case 'o': {
                    const uint8_t pick = input.byte();
                    words.push_back(pick == 0xff ? 0 : objects[pick % objects.size()].id);
                    break;
                }
                case 'n':
                    words.push_back(next_id);
                    if (message.types[arg])
                        objects.push_back({next_id, message.types[arg]});
                    ++next_id;
                    break;
                case 'h':
                    fds.push_back(fuzzed_memfd(input));
                    break;
                default:
                    continue; // a version digit or '?': no argument
                }
                ++arg;
            }
        }
        const uint32_t size = (flags & 1) ? input.u16() : uint32_t(words.size() * 4);
        words[1] = (size << 16) | opcode;
        send(fd, words, fds);
    }
}

void remove_directory() {
    if (!server)
        return;
    const std::string socket = server->directory + "/wayland";
    unlink(socket.c_str());
    unlink((socket + ".lock").c_str());
    rmdir(server->directory.c_str());
}

} // namespace

// libxkbcommon 1.5.0 (Debian 12) leaks about 1 KiB of its own inside xkb_keymap_new_from_buffer
// when some keymaps fail to compile (fuzz/corpus/wayland_client/regression-keymap-compile-leak;
// docs/fuzzing.md): vmcast gets no keymap back, nothing it could free. The library has no frame
// pointers, so the leak's stack names only its module: leaks of memory libxkbcommon allocated
// are not reported (vmcast holds its xkb objects in owning pointers); all others are.
extern "C" const char *__lsan_default_suppressions() {
    return "leak:libxkbcommon.so\n";
}

extern "C" int LLVMFuzzerInitialize(int *, char ***) {
    std::string error;
    vmcast::compositor::route_wlroots_log(false);
    server = new Server();
    server->compositor = vmcast::compositor::Compositor::create(nullptr, error);
    gchar *directory = g_dir_make_tmp("vmcast-fuzz-XXXXXX", nullptr);
    server->directory = directory;
    g_free(directory);
    atexit(remove_directory);
    if (!server->compositor ||
        !server->compositor->serve_wayland(server->directory + "/wayland", error)) {
        fprintf(stderr, "cannot start the compositor: %s\n", error.c_str());
        abort();
    }
    server->output = std::make_unique<vmcast::compositor::ConsoleOutput>(
        *server->compositor, "vmcast.fuzz.0", "fuzzed console", 640, 480, kFramesPerSecond,
        server->cursor);
    server->input = server->compositor->wayland_server()->attach_console_input(
        "vmcast.fuzz.0", [](const std::string &) { return std::make_unique<NoInput>(); });

    // The globals a client sees: names and versions from wl_registry.global, interfaces (with
    // their requests' signatures) from the server's globals, in the order it announces them.
    static std::vector<const wl_interface *> interfaces;
    wl_display *display = server->compositor->display();
    wl_display_set_global_filter(
        display,
        [](const wl_client *, const wl_global *global, void *) {
            interfaces.push_back(wl_global_get_interface(global));
            return true;
        },
        nullptr);
    Client client;
    connect(client);
    // wl_display (1) get_registry (opcode 1), new id 2.
    send(client.fd.get(), {1, (12u << 16) | 1, 2});
    serve(client.server_fd, client.alive, client.fd.get(), 2, &server->globals);
    disconnect(client);
    wl_display_set_global_filter(display, nullptr, nullptr);
    if (server->globals.size() != interfaces.size())
        abort();
    for (size_t i = 0; i < interfaces.size(); ++i)
        server->globals[i].interface = interfaces[i];
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    InputReader input(data, size);
    Client client;
    connect(client);
    write_requests(input, client.fd.get());
    serve(client.server_fd, client.alive, client.fd.get());
    disconnect(client);
    return 0;
}
