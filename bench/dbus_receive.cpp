// dbus_receive WIDTH HEIGHT MESSAGES: what receiving QEMU's Listener.Update costs in GDBus
// against sd-bus, on the listener's own kind of connection (a p2p socket pair on which QEMU
// authenticates as the server and the listener as the client). A sender process calls Update with
// GDBus as QEMU does, one call after another, each with a WIDTH x HEIGHT x 4 byte picture; the
// receiver takes the arguments and the pixels' address, as vmcast does before converting them,
// and replies. Once with a GDBus receiver (its worker thread reads, the main loop handles), once
// with an sd-bus receiver (read and handled on the one thread). Prints one JSON line per library:
// the receiver's CPU time per message (all its threads), messages a second, and the receiver's
// voluntary context switches per message (its wakeups).
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include <gio/gio.h>
#include <systemd/sd-bus.h>

namespace {

constexpr const char *kPath = "/org/qemu/Display1/Listener";
constexpr const char *kInterface = "org.qemu.Display1.Listener";
constexpr int kWarmUpMessages = 20;
constexpr uint32_t kX8R8G8B8 = 0x20020888; // PIXMAN_x8r8g8b8

struct Dimensions {
    int width;
    int height;
    int messages;
};

struct Usage {
    double cpu_us = 0;
    long voluntary_switches = 0;
    double wall_us = 0;
};

double now_us() {
    timespec now{};
    clock_gettime(CLOCK_MONOTONIC, &now);
    return double(now.tv_sec) * 1e6 + double(now.tv_nsec) / 1e3;
}

Usage usage_now() {
    rusage self{};
    getrusage(RUSAGE_SELF, &self);
    return {double(self.ru_utime.tv_sec + self.ru_stime.tv_sec) * 1e6 +
                double(self.ru_utime.tv_usec + self.ru_stime.tv_usec),
            self.ru_nvcsw, now_us()};
}

// Counts messages; measures from the end of the warm-up to the last message.
struct Receipts {
    explicit Receipts(int expected_messages) : expected(expected_messages) {}

    int expected;
    int received = 0;
    Usage start;
    Usage end;

    bool take(const void *pixels, size_t size) {
        if (!pixels && size > 0)
            return false;
        if (++received == kWarmUpMessages)
            start = usage_now();
        if (received == expected)
            end = usage_now();
        return true;
    }
    bool done() const { return received >= expected; }
};

// The sender: QEMU's side, GDBus, one Update after another.
[[noreturn]] void send_updates(int fd, const Dimensions &dimensions) {
    GError *error = nullptr;
    GSocket *socket = g_socket_new_from_fd(fd, &error);
    GSocketConnection *stream =
        socket ? g_socket_connection_factory_create_connection(socket) : nullptr;
    gchar *guid = g_dbus_generate_guid();
    GDBusConnection *bus =
        stream ? g_dbus_connection_new_sync(G_IO_STREAM(stream), guid,
                                            G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_SERVER, nullptr,
                                            nullptr, &error)
               : nullptr;
    if (!bus) {
        std::fprintf(stderr, "dbus_receive: sender: %s\n", error ? error->message : "no socket");
        _exit(1);
    }
    const size_t size = size_t(dimensions.width) * size_t(dimensions.height) * 4;
    std::vector<uint8_t> pixels(size, 0x5a);
    for (int i = 0; i < dimensions.messages; i++) {
        GVariant *data = g_variant_new_fixed_array(G_VARIANT_TYPE_BYTE, pixels.data(), size, 1);
        GVariant *reply = g_dbus_connection_call_sync(
            bus, nullptr, kPath, kInterface, "Update",
            g_variant_new("(iiiiuu@ay)", 0, 0, dimensions.width, dimensions.height,
                          uint32_t(dimensions.width * 4), kX8R8G8B8, data),
            nullptr, G_DBUS_CALL_FLAGS_NONE, 10000, nullptr, &error);
        if (!reply) {
            std::fprintf(stderr, "dbus_receive: sender: %s\n", error->message);
            _exit(1);
        }
        g_variant_unref(reply);
    }
    _exit(0);
}

// The GDBus receiver, as vmcast's listener is today.
void on_gdbus_call(GDBusConnection *, const char *, const char *, const char *, const char *method,
                   GVariant *parameters, GDBusMethodInvocation *invocation, gpointer data) {
    auto &receipts = *static_cast<Receipts *>(data);
    int32_t x, y, width, height;
    uint32_t stride, format;
    GVariant *pixels_variant = nullptr;
    g_variant_get(parameters, "(iiiiuu@ay)", &x, &y, &width, &height, &stride, &format,
                  &pixels_variant);
    gsize size = 0;
    const void *pixels = g_variant_get_fixed_array(pixels_variant, &size, 1);
    const bool taken = g_str_equal(method, "Update") && receipts.take(pixels, size);
    g_variant_unref(pixels_variant);
    if (taken)
        g_dbus_method_invocation_return_value(invocation, nullptr);
    else
        g_dbus_method_invocation_return_dbus_error(invocation, "org.freedesktop.DBus.Error.Failed",
                                                   "bad update");
}

bool receive_with_gdbus(int fd, Receipts &receipts) {
    static const char kIntrospection[] =
        "<node><interface name='org.qemu.Display1.Listener'><method name='Update'>"
        "<arg type='i' direction='in'/><arg type='i' direction='in'/>"
        "<arg type='i' direction='in'/><arg type='i' direction='in'/>"
        "<arg type='u' direction='in'/><arg type='u' direction='in'/>"
        "<arg type='ay' direction='in'/></method></interface></node>";
    GError *error = nullptr;
    GDBusNodeInfo *info = g_dbus_node_info_new_for_xml(kIntrospection, &error);
    GSocket *socket = g_socket_new_from_fd(fd, &error);
    GSocketConnection *stream = g_socket_connection_factory_create_connection(socket);
    GDBusConnection *bus = g_dbus_connection_new_sync(G_IO_STREAM(stream), nullptr,
                                                      G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT,
                                                      nullptr, nullptr, &error);
    if (!bus) {
        std::fprintf(stderr, "dbus_receive: gdbus: %s\n", error->message);
        return false;
    }
    static const GDBusInterfaceVTable vtable = {on_gdbus_call, nullptr, nullptr, {}};
    g_dbus_connection_register_object(bus, kPath, info->interfaces[0], &vtable, &receipts, nullptr,
                                      &error);
    while (!receipts.done())
        g_main_context_iteration(nullptr, TRUE);
    // The last reply goes out from GDBus's worker thread.
    g_dbus_connection_flush_sync(bus, nullptr, nullptr);
    g_object_unref(bus);
    g_object_unref(stream);
    g_object_unref(socket);
    g_dbus_node_info_unref(info);
    return true;
}

// The sd-bus receiver: the same method, read and answered on the calling thread.
int on_sdbus_update(sd_bus_message *message, void *data, sd_bus_error *error) {
    auto &receipts = *static_cast<Receipts *>(data);
    int32_t x, y, width, height;
    uint32_t stride, format;
    int r = sd_bus_message_read(message, "iiiiuu", &x, &y, &width, &height, &stride, &format);
    const void *pixels = nullptr;
    size_t size = 0;
    if (r >= 0)
        r = sd_bus_message_read_array(message, 'y', &pixels, &size);
    if (r < 0 || !receipts.take(pixels, size))
        return sd_bus_error_set(error, SD_BUS_ERROR_FAILED, "bad update");
    return sd_bus_reply_method_return(message, "");
}

bool receive_with_sdbus(int fd, Receipts &receipts) {
    static const sd_bus_vtable vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_METHOD("Update", "iiiiuuay", "", on_sdbus_update, 0),
        SD_BUS_VTABLE_END,
    };
    sd_bus *bus = nullptr;
    int r = sd_bus_new(&bus);
    if (r >= 0)
        r = sd_bus_set_fd(bus, fd, fd);
    if (r >= 0)
        r = sd_bus_negotiate_fds(bus, 1);
    if (r >= 0)
        r = sd_bus_add_object_vtable(bus, nullptr, kPath, kInterface, vtable, &receipts);
    if (r >= 0)
        r = sd_bus_start(bus);
    while (r >= 0 && !receipts.done()) {
        r = sd_bus_process(bus, nullptr);
        if (r == 0)
            r = sd_bus_wait(bus, UINT64_MAX);
    }
    if (r >= 0)
        r = sd_bus_flush(bus);
    if (r < 0)
        std::fprintf(stderr, "dbus_receive: sd-bus: %s\n", strerror(-r));
    sd_bus_flush_close_unref(bus);
    return r >= 0;
}

// A socket pair with a sender on one end: the receiver's end, and the sender's pid.
struct Connection {
    int receiver_fd = -1;
    pid_t sender = -1;
};

// Forked before this process uses GLib: GDBus's worker thread would not survive a fork.
Connection start_sender(const Dimensions &dimensions) {
    int fds[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) < 0)
        return {};
    const pid_t sender = fork();
    if (sender == 0) {
        close(fds[0]);
        send_updates(fds[1], dimensions);
    }
    close(fds[1]);
    return {fds[0], sender};
}

bool measure(const char *library, Connection connection, const Dimensions &dimensions) {
    if (connection.sender < 0)
        return false;
    Receipts receipts(dimensions.messages);
    const bool received = std::string(library) == "gdbus"
                              ? receive_with_gdbus(connection.receiver_fd, receipts)
                              : receive_with_sdbus(connection.receiver_fd, receipts);
    int status = 0;
    waitpid(connection.sender, &status, 0);
    if (!received || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return false;
    const double measured = double(dimensions.messages - kWarmUpMessages);
    const double wall_s = (receipts.end.wall_us - receipts.start.wall_us) / 1e6;
    std::printf("{\"library\": \"%s\", \"width\": %d, \"height\": %d, \"messages\": %d, "
                "\"cpu_us_per_message\": %.1f, \"messages_per_s\": %.1f, "
                "\"wakeups_per_message\": %.2f}\n",
                library, dimensions.width, dimensions.height, int(measured),
                (receipts.end.cpu_us - receipts.start.cpu_us) / measured, measured / wall_s,
                double(receipts.end.voluntary_switches - receipts.start.voluntary_switches) /
                    measured);
    std::fflush(stdout);
    return true;
}

} // namespace

int main(int argc, char **argv) {
    Dimensions dimensions{};
    if (argc != 4 || (dimensions.width = std::atoi(argv[1])) <= 0 ||
        (dimensions.height = std::atoi(argv[2])) <= 0 || dimensions.width > 8192 ||
        dimensions.height > 8192 || (dimensions.messages = std::atoi(argv[3])) <= kWarmUpMessages) {
        std::fprintf(stderr, "usage: dbus_receive WIDTH HEIGHT MESSAGES (MESSAGES > %d)\n",
                     kWarmUpMessages);
        return 2;
    }
    const Connection gdbus = start_sender(dimensions);
    const Connection sdbus = start_sender(dimensions);
    return measure("gdbus", gdbus, dimensions) && measure("sd-bus", sdbus, dimensions) ? 0 : 1;
}
