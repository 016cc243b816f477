#include "qemu/listener_bus.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <systemd/sd-bus.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include <glib.h>

namespace vmcast::qemu {
namespace {

constexpr const char *kListenerPath = "/org/qemu/Display1/Listener";
constexpr const char *kInvalidError = "org.qemu.Display1.Error.Invalid";
constexpr int kMessagesPerDispatch = 8;

ListenerMethods &methods_of(void *userdata) {
    return *static_cast<ListenerMethods *>(userdata);
}

// sd-bus lends the message's fds; the listener keeps its own.
UniqueFd own_fd(int lent) {
    return UniqueFd(lent >= 0 ? fcntl(lent, F_DUPFD_CLOEXEC, 3) : -1);
}

std::span<const uint8_t> bytes(const void *data, size_t size) {
    return {static_cast<const uint8_t *>(data), size};
}

// Each method reads its arguments; a message that does not match the vtable's signature never
// gets here (sd-bus answers it with InvalidArgs).
int on_scanout(sd_bus_message *message, void *userdata, sd_bus_error *) {
    uint32_t width, height, stride, format;
    const void *data = nullptr;
    size_t size = 0;
    int r = sd_bus_message_read(message, "uuuu", &width, &height, &stride, &format);
    if (r >= 0)
        r = sd_bus_message_read_array(message, 'y', &data, &size);
    if (r < 0)
        return r;
    methods_of(userdata).scanout(ListenerCall(message), width, height, stride, format,
                                 bytes(data, size));
    return 1;
}

int on_update(sd_bus_message *message, void *userdata, sd_bus_error *) {
    int32_t x, y, width, height;
    uint32_t stride, format;
    const void *data = nullptr;
    size_t size = 0;
    int r = sd_bus_message_read(message, "iiiiuu", &x, &y, &width, &height, &stride, &format);
    if (r >= 0)
        r = sd_bus_message_read_array(message, 'y', &data, &size);
    if (r < 0)
        return r;
    methods_of(userdata).update(ListenerCall(message), x, y, width, height, stride, format,
                                bytes(data, size));
    return 1;
}

int on_scanout_dmabuf(sd_bus_message *message, void *userdata, sd_bus_error *) {
    int fd = -1;
    uint32_t width, height, stride, fourcc;
    uint64_t modifier;
    int y0_top;
    const int r = sd_bus_message_read(message, "huuuutb", &fd, &width, &height, &stride, &fourcc,
                                      &modifier, &y0_top);
    if (r < 0)
        return r;
    methods_of(userdata).scanout_dmabuf(ListenerCall(message), own_fd(fd), width, height, stride,
                                        fourcc, modifier, y0_top != 0);
    return 1;
}

int on_update_dmabuf(sd_bus_message *message, void *userdata, sd_bus_error *) {
    int32_t x, y, width, height;
    const int r = sd_bus_message_read(message, "iiii", &x, &y, &width, &height);
    if (r < 0)
        return r;
    methods_of(userdata).update_dmabuf(ListenerCall(message), x, y, width, height);
    return 1;
}

int on_disable(sd_bus_message *message, void *userdata, sd_bus_error *) {
    methods_of(userdata).disable(ListenerCall(message));
    return 1;
}

int on_mouse_set(sd_bus_message *message, void *userdata, sd_bus_error *) {
    int32_t x, y, on;
    const int r = sd_bus_message_read(message, "iii", &x, &y, &on);
    if (r < 0)
        return r;
    methods_of(userdata).mouse_set(ListenerCall(message), x, y, on != 0);
    return 1;
}

int on_cursor_define(sd_bus_message *message, void *userdata, sd_bus_error *) {
    int32_t width, height, hot_x, hot_y;
    const void *data = nullptr;
    size_t size = 0;
    int r = sd_bus_message_read(message, "iiii", &width, &height, &hot_x, &hot_y);
    if (r >= 0)
        r = sd_bus_message_read_array(message, 'y', &data, &size);
    if (r < 0)
        return r;
    methods_of(userdata).cursor_define(ListenerCall(message), width, height, hot_x, hot_y,
                                       bytes(data, size));
    return 1;
}

int on_scanout_map(sd_bus_message *message, void *userdata, sd_bus_error *) {
    int fd = -1;
    uint32_t offset, width, height, stride, format;
    const int r =
        sd_bus_message_read(message, "huuuuu", &fd, &offset, &width, &height, &stride, &format);
    if (r < 0)
        return r;
    methods_of(userdata).scanout_map(ListenerCall(message), own_fd(fd), offset, width, height,
                                     stride, format);
    return 1;
}

int on_update_map(sd_bus_message *message, void *userdata, sd_bus_error *) {
    int32_t x, y, width, height;
    const int r = sd_bus_message_read(message, "iiii", &x, &y, &width, &height);
    if (r < 0)
        return r;
    methods_of(userdata).update_map(ListenerCall(message), x, y, width, height);
    return 1;
}

int read_u32_array(sd_bus_message *message, std::vector<uint32_t> &values) {
    const void *data = nullptr;
    size_t size = 0;
    const int r = sd_bus_message_read_array(message, 'u', &data, &size);
    if (r < 0)
        return r;
    values.resize(size / sizeof(uint32_t));
    if (size > 0)
        std::memcpy(values.data(), data, values.size() * sizeof(uint32_t));
    return r;
}

int on_scanout_dmabuf2(sd_bus_message *message, void *userdata, sd_bus_error *) {
    ListenerMethods::Dmabuf2 buffer{};
    int r = sd_bus_message_enter_container(message, 'a', "h");
    while (r >= 0) {
        int fd = -1;
        r = sd_bus_message_read(message, "h", &fd);
        if (r <= 0)
            break;
        buffer.fds.push_back(own_fd(fd));
    }
    if (r >= 0)
        r = sd_bus_message_exit_container(message);
    if (r >= 0)
        r = sd_bus_message_read(message, "uuuu", &buffer.x, &buffer.y, &buffer.width,
                                &buffer.height);
    if (r >= 0)
        r = read_u32_array(message, buffer.offsets);
    if (r >= 0)
        r = read_u32_array(message, buffer.strides);
    int y0_top = 0;
    if (r >= 0)
        r = sd_bus_message_read(message, "uuuutb", &buffer.plane_count, &buffer.fourcc,
                                &buffer.backing_width, &buffer.backing_height, &buffer.modifier,
                                &y0_top);
    if (r < 0)
        return r;
    buffer.y0_top = y0_top != 0;
    methods_of(userdata).scanout_dmabuf2(ListenerCall(message), std::move(buffer));
    return 1;
}

// QEMU 8.1+ reads this once, while registering, to pick the optional paths it may use.
int get_interfaces(sd_bus *, const char *, const char *, const char *, sd_bus_message *reply,
                   void *, sd_bus_error *) {
    static const char *const interfaces[] = {"org.qemu.Display1.Listener.Unix.Map",
                                             "org.qemu.Display1.Listener.Unix.ScanoutDMABUF2",
                                             nullptr};
    return sd_bus_message_append_strv(reply, const_cast<char **>(interfaces));
}

const sd_bus_vtable kListenerVtable[] = {
    SD_BUS_VTABLE_START(0),
    SD_BUS_METHOD("Scanout", "uuuuay", "", on_scanout, 0),
    SD_BUS_METHOD("Update", "iiiiuuay", "", on_update, 0),
    SD_BUS_METHOD("ScanoutDMABUF", "huuuutb", "", on_scanout_dmabuf, 0),
    SD_BUS_METHOD("UpdateDMABUF", "iiii", "", on_update_dmabuf, 0),
    SD_BUS_METHOD("Disable", "", "", on_disable, 0),
    SD_BUS_METHOD("MouseSet", "iii", "", on_mouse_set, 0),
    SD_BUS_METHOD("CursorDefine", "iiiiay", "", on_cursor_define, 0),
    SD_BUS_PROPERTY("Interfaces", "as", get_interfaces, 0, SD_BUS_VTABLE_PROPERTY_CONST),
    SD_BUS_VTABLE_END,
};

const sd_bus_vtable kMapVtable[] = {
    SD_BUS_VTABLE_START(0),
    SD_BUS_METHOD("ScanoutMap", "huuuuu", "", on_scanout_map, 0),
    SD_BUS_METHOD("UpdateMap", "iiii", "", on_update_map, 0),
    SD_BUS_VTABLE_END,
};

const sd_bus_vtable kDmabuf2Vtable[] = {
    SD_BUS_VTABLE_START(0),
    SD_BUS_METHOD("ScanoutDMABUF2", "ahuuuuauauuuuutb", "", on_scanout_dmabuf2, 0),
    SD_BUS_VTABLE_END,
};

} // namespace

ListenerCall::ListenerCall(sd_bus_message *call) : call_(sd_bus_message_ref(call)) {}

ListenerCall::ListenerCall(ListenerCall &&other) noexcept
    : call_(std::exchange(other.call_, nullptr)) {}

ListenerCall::~ListenerCall() {
    succeed();
}

void ListenerCall::succeed() {
    if (!call_)
        return;
    sd_bus_reply_method_return(call_, "");
    sd_bus_message_unref(std::exchange(call_, nullptr));
}

void ListenerCall::succeed_with_bytes(std::span<const uint8_t> bytes) {
    if (!call_)
        return;
    sd_bus_message *reply = nullptr;
    if (sd_bus_message_new_method_return(call_, &reply) >= 0 &&
        sd_bus_message_append_array(reply, 'y', bytes.data(), bytes.size()) >= 0)
        sd_bus_send(nullptr, reply, nullptr);
    else
        sd_bus_reply_method_errorf(call_, kInvalidError, "cannot answer with %zu bytes",
                                   bytes.size());
    sd_bus_message_unref(reply);
    sd_bus_message_unref(std::exchange(call_, nullptr));
}

void ListenerCall::reject(const std::string &reason) {
    if (!call_)
        return;
    sd_bus_reply_method_errorf(call_, kInvalidError, "%s", reason.c_str());
    sd_bus_message_unref(std::exchange(call_, nullptr));
}

// sd-bus's fd in the GLib main loop: it polls for what sd-bus waits for (reading, or writing
// what it could not send at once) and until its timeout.
struct ListenerBusSource {
    GSource base;
    ListenerBus *owner;
    gpointer fd_tag;
    GIOCondition polled;

    static gboolean prepare(GSource *source, gint *timeout_ms) {
        auto *self = reinterpret_cast<ListenerBusSource *>(source);
        sd_bus *bus = self->owner->bus_;
        const int events = sd_bus_get_events(bus);
        GIOCondition wanted = GIOCondition(G_IO_ERR | G_IO_HUP);
        if (events > 0 && (events & POLLIN))
            wanted = GIOCondition(wanted | G_IO_IN);
        if (events > 0 && (events & POLLOUT))
            wanted = GIOCondition(wanted | G_IO_OUT);
        // Changing the condition signals the main loop's eventfd: only when it changes.
        if (wanted != self->polled) {
            g_source_modify_unix_fd(source, self->fd_tag, wanted);
            self->polled = wanted;
        }
        uint64_t until_us = UINT64_MAX;
        *timeout_ms = -1;
        if (sd_bus_get_timeout(bus, &until_us) > 0 && until_us != UINT64_MAX) {
            // sd-bus's times are CLOCK_MONOTONIC microseconds, as GLib's are.
            const uint64_t now_us = uint64_t(g_source_get_time(source));
            if (until_us <= now_us)
                return TRUE;
            *timeout_ms = gint((until_us - now_us + 999) / 1000);
        }
        return FALSE;
    }
    static gboolean check(GSource *source) {
        auto *self = reinterpret_cast<ListenerBusSource *>(source);
        return g_source_query_unix_fd(source, self->fd_tag) != 0;
    }
    static gboolean dispatch(GSource *source, GSourceFunc, gpointer) {
        reinterpret_cast<ListenerBusSource *>(source)->owner->process();
        return G_SOURCE_CONTINUE;
    }
};

std::unique_ptr<ListenerBus> ListenerBus::serve(UniqueFd our_end, ListenerMethods &methods,
                                                std::string &error) {
    const ServedInterface interfaces[] = {
        {kListenerPath, "org.qemu.Display1.Listener", kListenerVtable, &methods},
        {kListenerPath, "org.qemu.Display1.Listener.Unix.Map", kMapVtable, &methods},
        {kListenerPath, "org.qemu.Display1.Listener.Unix.ScanoutDMABUF2", kDmabuf2Vtable, &methods},
    };
    std::unique_ptr<ListenerBus> served = serve(
        std::move(our_end), interfaces, [&methods] { methods.connection_closed(); }, error);
    if (!served)
        error = "cannot serve the display listener: " + error;
    return served;
}

bool ListenerBus::new_pair(UniqueFd &our_end, GObjectPtr<GUnixFDList> &qemu_end,
                           std::string &error) {
    int sockets[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sockets) < 0) {
        error = std::string("cannot create a socket pair: ") + strerror(errno);
        return false;
    }
    our_end = UniqueFd(sockets[0]);
    UniqueFd theirs(sockets[1]);
    qemu_end.reset(g_unix_fd_list_new());
    GError *raw_error = nullptr;
    if (g_unix_fd_list_append(qemu_end.get(), theirs.get(), &raw_error) < 0) {
        GErrorPtr append_error(raw_error);
        error = std::string("cannot pass the listener socket: ") + append_error->message;
        return false;
    }
    return true; // the list holds its own copy of QEMU's end
}

std::unique_ptr<ListenerBus> ListenerBus::serve_new_pair(ListenerMethods &methods,
                                                         GObjectPtr<GUnixFDList> &qemu_end,
                                                         std::string &error) {
    UniqueFd our_end;
    return new_pair(our_end, qemu_end, error) ? serve(std::move(our_end), methods, error) : nullptr;
}

std::unique_ptr<ListenerBus>
ListenerBus::serve_new_pair(std::span<const ServedInterface> interfaces,
                            std::function<void()> closed, GObjectPtr<GUnixFDList> &qemu_end,
                            std::string &error) {
    UniqueFd our_end;
    return new_pair(our_end, qemu_end, error)
               ? serve(std::move(our_end), interfaces, std::move(closed), error)
               : nullptr;
}

std::unique_ptr<ListenerBus> ListenerBus::serve(UniqueFd our_end,
                                                std::span<const ServedInterface> interfaces,
                                                std::function<void()> closed, std::string &error) {
    std::unique_ptr<ListenerBus> served(new ListenerBus(std::move(closed)));
    const int fd = our_end.get();
    int r = sd_bus_new(&served->bus_);
    if (r >= 0)
        r = sd_bus_set_fd(served->bus_, fd, fd);
    if (r >= 0)
        our_end.release(); // sd-bus closes it
    if (r >= 0)
        r = sd_bus_negotiate_fds(served->bus_, 1);
    for (const ServedInterface &served_interface : interfaces) {
        if (r >= 0)
            r = sd_bus_add_object_vtable(served->bus_, nullptr, served_interface.path,
                                         served_interface.name, served_interface.vtable,
                                         served_interface.userdata);
    }
    if (r >= 0)
        r = sd_bus_start(served->bus_);
    if (r < 0) {
        error = strerror(-r);
        return nullptr;
    }
    static GSourceFuncs funcs = {&ListenerBusSource::prepare,
                                 &ListenerBusSource::check,
                                 &ListenerBusSource::dispatch,
                                 nullptr,
                                 nullptr,
                                 nullptr};
    served->source_.reset(g_source_new(&funcs, sizeof(ListenerBusSource)));
    auto *source = reinterpret_cast<ListenerBusSource *>(served->source_.get());
    source->owner = served.get();
    source->polled = G_IO_IN;
    source->fd_tag = g_source_add_unix_fd(served->source_.get(), fd, source->polled);
    g_source_set_name(served->source_.get(), "vmcast QEMU listener");
    // See attach_fd_source: no re-arming signal after each dispatch.
    g_source_set_can_recurse(served->source_.get(), TRUE);
    g_source_attach(served->source_.get(), nullptr);
    return served;
}

ListenerBus::~ListenerBus() {
    *alive_ = false;
    if (source_)
        g_source_destroy(source_.get());
    // No flush: a QEMU that stopped reading must not block the main loop.
    if (bus_)
        sd_bus_close_unref(bus_);
}

void ListenerBus::process() {
    const std::shared_ptr<bool> alive = alive_;
    // A few messages at a time: a QEMU that sends without pause must not keep the frames
    // from going out. What sd-bus has read and not handled makes its timeout 0, so prepare()
    // brings the main loop straight back here.
    int r = 0;
    for (int handled = 0; handled < kMessagesPerDispatch; handled++) {
        r = sd_bus_process(bus_, nullptr);
        if (!*alive)
            return; // a method destroyed the listener
        if (r <= 0)
            break;
    }
    if (closed_ || (r >= 0 && sd_bus_is_open(bus_) > 0))
        return;
    closed_ = true;
    g_source_destroy(source_.get());
    closed_callback_();
}

} // namespace vmcast::qemu
