#include "qemu/console_listener.h"

#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "common/unique_fd.h"
#include "qemu-display1.h"

namespace vmcast::qemu {
namespace {

constexpr const char *kListenerPath = "/org/qemu/Display1/Listener";
constexpr const char *kInvalidError = "org.qemu.Display1.Error.Invalid";

bool is_cancelled(const GError *error) {
    return error && g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
}

std::span<const uint8_t> bytes_of(GVariant *array) {
    gsize size = 0;
    const void *data = g_variant_get_fixed_array(array, &size, 1);
    return {static_cast<const uint8_t *>(data), size};
}

} // namespace

ConsoleListener::ConsoleListener(GDBusConnection *bus, const std::string &bus_name,
                                 uint32_t console_index, DisplaySink &sink, std::string log_name)
    : bus_(bus), bus_name_(bus_name), console_index_(console_index), sink_(sink),
      log_name_(std::move(log_name)) {}

ConsoleListener::~ConsoleListener() {
    answer_pending_updates();
    g_cancellable_cancel(cancellable_.get());
    closed_signal_.disconnect();
    if (listener_)
        g_dbus_interface_skeleton_unexport(G_DBUS_INTERFACE_SKELETON(listener_.get()));
    if (map_listener_)
        g_dbus_interface_skeleton_unexport(G_DBUS_INTERFACE_SKELETON(map_listener_.get()));
    if (dmabuf2_listener_)
        g_dbus_interface_skeleton_unexport(G_DBUS_INTERFACE_SKELETON(dmabuf2_listener_.get()));
    if (connection_)
        g_dbus_connection_close(connection_.get(), nullptr, nullptr, nullptr);
}

void ConsoleListener::start() {
    const std::string path = "/org/qemu/Display1/Console_" + std::to_string(console_index_);
    // A peer-to-peer connection to QEMU (p2p mode) has no bus names.
    const char *name = bus_name_.empty() ? nullptr : bus_name_.c_str();
    // Never a synchronous call to QEMU here: while QEMU registers another console's listener it
    // waits, in its main loop, for that listener's handshake, which needs ours to run.
    qemu_display_console_proxy_new(bus_, G_DBUS_PROXY_FLAGS_DO_NOT_AUTO_START, name, path.c_str(),
                                   cancellable_.get(), on_console_ready, this);
}

void ConsoleListener::on_console_ready(GObject *, GAsyncResult *result, gpointer self) {
    GError *raw_error = nullptr;
    QemuDisplayConsole *console = qemu_display_console_proxy_new_finish(result, &raw_error);
    GErrorPtr error(raw_error);
    if (is_cancelled(error.get()))
        return;
    auto *listener = static_cast<ConsoleListener *>(self);
    if (!console) {
        g_warning("%s: cannot reach console %u: %s", listener->log_name_.c_str(),
                  listener->console_index_, error->message);
        listener->sink_.listener_closed();
        return;
    }
    listener->console_.reset(console);
    std::string register_error;
    if (!listener->register_listener(register_error)) {
        g_warning("%s: %s", listener->log_name_.c_str(), register_error.c_str());
        listener->sink_.listener_closed();
    }
}

bool ConsoleListener::register_listener(std::string &error) {
    // QEMU 7.2 switches VGA text mode without a new Scanout; only these properties tell.
    width_notify_ = SignalConnection(console_.get(), "notify::width",
                                     G_CALLBACK(on_console_size_changed), this);
    height_notify_ = SignalConnection(console_.get(), "notify::height",
                                      G_CALLBACK(on_console_size_changed), this);

    int sockets[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sockets) < 0) {
        error = std::string("cannot create a socket pair: ") + strerror(errno);
        return false;
    }
    UniqueFd our_end(sockets[0]);
    UniqueFd qemu_end(sockets[1]);

    GError *raw_error = nullptr;
    GObjectPtr<GSocket> socket(g_socket_new_from_fd(our_end.get(), &raw_error));
    GErrorPtr socket_error(raw_error);
    if (!socket) {
        error = std::string("cannot wrap the listener socket: ") + socket_error->message;
        return false;
    }
    our_end.release(); // the GSocket owns it now
    GObjectPtr<GSocketConnection> stream(
        g_socket_connection_factory_create_connection(socket.get()));

    // QEMU answers RegisterListener and then authenticates and reads our properties
    // synchronously in its main loop, so both run concurrently here: the handshake on GDBus's
    // worker thread, with message processing held until the listener object is exported.
    g_dbus_connection_new(G_IO_STREAM(stream.get()), nullptr,
                          GDBusConnectionFlags(G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT |
                                               G_DBUS_CONNECTION_FLAGS_DELAY_MESSAGE_PROCESSING),
                          nullptr, cancellable_.get(), on_connection_ready, this);

    GObjectPtr<GUnixFDList> fds(g_unix_fd_list_new());
    if (g_unix_fd_list_append(fds.get(), qemu_end.get(), &raw_error) < 0) {
        GErrorPtr append_error(raw_error);
        error = std::string("cannot pass the listener socket: ") + append_error->message;
        return false;
    }
    qemu_display_console_call_register_listener(console_.get(), g_variant_new_handle(0), fds.get(),
                                                cancellable_.get(), on_registered, this);
    return true;
}

void ConsoleListener::on_registered(GObject *source, GAsyncResult *result, gpointer self) {
    GError *raw_error = nullptr;
    qemu_display_console_call_register_listener_finish(QEMU_DISPLAY_CONSOLE(source), nullptr,
                                                       result, &raw_error);
    GErrorPtr error(raw_error);
    if (!error || is_cancelled(error.get()))
        return;
    auto *listener = static_cast<ConsoleListener *>(self);
    g_warning("%s: QEMU refused the display listener: %s", listener->log_name_.c_str(),
              error->message);
    listener->sink_.listener_closed();
}

void ConsoleListener::on_connection_ready(GObject *, GAsyncResult *result, gpointer self) {
    GError *raw_error = nullptr;
    GDBusConnection *connection = g_dbus_connection_new_finish(result, &raw_error);
    GErrorPtr error(raw_error);
    if (is_cancelled(error.get()))
        return;
    auto *listener = static_cast<ConsoleListener *>(self);
    if (!connection) {
        g_warning("%s: display connection handshake with QEMU failed: %s",
                  listener->log_name_.c_str(), error->message);
        listener->sink_.listener_closed();
        return;
    }
    listener->connection_.reset(connection);
    listener->export_listener(connection);
}

bool ConsoleListener::export_interface(gpointer skeleton, GDBusConnection *connection) {
    GError *raw_error = nullptr;
    if (g_dbus_interface_skeleton_export(G_DBUS_INTERFACE_SKELETON(skeleton), connection,
                                         kListenerPath, &raw_error))
        return true;
    GErrorPtr error(raw_error);
    g_warning("%s: cannot export the display listener: %s", log_name_.c_str(), error->message);
    return false;
}

void ConsoleListener::export_listener(GDBusConnection *connection) {
    listener_.reset(qemu_display_listener_skeleton_new());
    QemuDisplayListener *skeleton = listener_.get();
    // QEMU 8.1+ reads this once, while registering, to pick the optional paths it may use.
    static const gchar *const extra_interfaces[] = {
        "org.qemu.Display1.Listener.Unix.Map", "org.qemu.Display1.Listener.Unix.ScanoutDMABUF2",
        nullptr};
    qemu_display_listener_set_interfaces(skeleton, extra_interfaces);
    g_signal_connect(skeleton, "handle-scanout", G_CALLBACK(on_scanout), this);
    g_signal_connect(skeleton, "handle-update", G_CALLBACK(on_update), this);
    g_signal_connect(skeleton, "handle-scanout-dmabuf", G_CALLBACK(on_scanout_dmabuf), this);
    g_signal_connect(skeleton, "handle-update-dmabuf", G_CALLBACK(on_update_dmabuf), this);
    g_signal_connect(skeleton, "handle-disable", G_CALLBACK(on_disable), this);
    g_signal_connect(skeleton, "handle-mouse-set", G_CALLBACK(on_mouse_set), this);
    g_signal_connect(skeleton, "handle-cursor-define", G_CALLBACK(on_cursor_define), this);

    map_listener_.reset(qemu_display_listener_unix_map_skeleton_new());
    g_signal_connect(map_listener_.get(), "handle-scanout-map", G_CALLBACK(on_scanout_map), this);
    g_signal_connect(map_listener_.get(), "handle-update-map", G_CALLBACK(on_update_map), this);

    dmabuf2_listener_.reset(qemu_display_listener_unix_scanout_dmabuf2_skeleton_new());
    g_signal_connect(dmabuf2_listener_.get(), "handle-scanout-dmabuf2",
                     G_CALLBACK(on_scanout_dmabuf2), this);

    // Everything is in place before QEMU can look: message processing starts only below.
    if (!export_interface(skeleton, connection) ||
        !export_interface(map_listener_.get(), connection) ||
        !export_interface(dmabuf2_listener_.get(), connection)) {
        sink_.listener_closed();
        return;
    }
    closed_signal_ = SignalConnection(connection, "closed", G_CALLBACK(on_connection_closed), this);
    g_dbus_connection_start_message_processing(connection);
    g_debug("%s: display listener registered", log_name_.c_str());
}

void ConsoleListener::on_connection_closed(GDBusConnection *, gboolean, GError *, gpointer self) {
    auto *listener = static_cast<ConsoleListener *>(self);
    g_info("%s: QEMU closed the display connection", listener->log_name_.c_str());
    listener->sink_.listener_closed();
}

void ConsoleListener::on_console_size_changed(GObject *, GParamSpec *, gpointer self) {
    auto *listener = static_cast<ConsoleListener *>(self);
    const uint32_t width = qemu_display_console_get_width(listener->console_.get());
    const uint32_t height = qemu_display_console_get_height(listener->console_.get());
    g_debug("%s: console size now %ux%u", listener->log_name_.c_str(), width, height);
    frame::PixelSurface &surface = *listener->surface_;
    // A shared memory surface defines its own size; a new one comes with its ScanoutMap.
    // Growing waits for an update that needs the room (follow_console_size): the size alone
    // may belong to a picture vmcast refused, and must not cost memory.
    if (std::holds_alternative<SharedMemory>(listener->source_) ||
        std::holds_alternative<DmabufOnGpu>(listener->source_) || surface.empty() || width == 0 ||
        height == 0 || width > surface.width() || height > surface.height())
        return;
    frame::PixelSurface::Change change;
    surface.resize(width, height, change);
    if (change.resized)
        listener->sink_.frame_changed(listener->surface_, change);
}

bool ConsoleListener::follow_console_size(const frame::Rect &update,
                                          frame::PixelSurface::Change &change) {
    frame::PixelSurface &surface = *surface_;
    if (surface.empty() || !console_ ||
        frame::clip_to_surface(update, surface.width(), surface.height()) == update)
        return false;
    // The update reaches past the picture: QEMU switched surfaces without a Scanout (7.2's
    // VGA text mode). The console's size property may have arrived before the picture it
    // belongs to; when the update fits that size, it is the new size.
    const uint32_t width = qemu_display_console_get_width(console_.get());
    const uint32_t height = qemu_display_console_get_height(console_.get());
    if (width == 0 || height == 0 || width > frame::kMaxSurfaceDimension ||
        height > frame::kMaxSurfaceDimension ||
        frame::clip_to_surface(update, width, height) != update)
        return false;
    surface.resize(width, height, change);
    return change.resized;
}

void ConsoleListener::answer_after_render(GDBusMethodInvocation *invocation) {
    pending_update_answers_.push_back(invocation);
    if (pending_update_answers_.size() > 1)
        return;
    std::weak_ptr<bool> alive = alive_;
    sink_.after_next_render([this, alive] {
        if (!alive.expired())
            answer_pending_updates();
    });
    update_answer_limit_ = attach_timeout(
        kUpdateAnswerLimitMs,
        [](gpointer self) -> gboolean {
            static_cast<ConsoleListener *>(self)->answer_pending_updates();
            return G_SOURCE_REMOVE;
        },
        this);
}

void ConsoleListener::answer_pending_updates() {
    update_answer_limit_.reset();
    for (GDBusMethodInvocation *invocation : std::exchange(pending_update_answers_, {}))
        g_dbus_method_invocation_return_value(invocation, nullptr);
}

void ConsoleListener::reject(GDBusMethodInvocation *invocation, const char *method,
                             const std::string &reason) {
    g_warning("%s: rejected %s from QEMU: %s", log_name_.c_str(), method, reason.c_str());
    g_dbus_method_invocation_return_dbus_error(invocation, kInvalidError, reason.c_str());
}

gboolean ConsoleListener::on_scanout(QemuDisplayListener *skeleton,
                                     GDBusMethodInvocation *invocation, guint width, guint height,
                                     guint stride, guint format, GVariant *data, gpointer self) {
    auto *listener = static_cast<ConsoleListener *>(self);
    g_debug("%s: Scanout %ux%u stride %u format 0x%08x", listener->log_name_.c_str(), width, height,
            stride, format);
    frame::PixelSurface::Change change;
    if (frame::Invalid invalid = listener->surface_->apply_scanout(width, height, stride, format,
                                                                   bytes_of(data), change)) {
        listener->reject(invocation, "Scanout", *invalid);
        return TRUE;
    }
    listener->show(CopiedPixels{});
    qemu_display_listener_complete_scanout(skeleton, invocation);
    listener->sink_.frame_changed(listener->surface_, change);
    return TRUE;
}

gboolean ConsoleListener::on_update(QemuDisplayListener *skeleton,
                                    GDBusMethodInvocation *invocation, gint x, gint y, gint width,
                                    gint height, guint stride, guint format, GVariant *data,
                                    gpointer self) {
    auto *listener = static_cast<ConsoleListener *>(self);
    g_debug("%s: Update %d,%d %dx%d stride %u format 0x%08x", listener->log_name_.c_str(), x, y,
            width, height, stride, format);
    listener->keep_shared_memory_picture();
    listener->show(CopiedPixels{});
    frame::PixelSurface::Change change;
    const bool resized_before_update = listener->follow_console_size({x, y, width, height}, change);
    if (frame::Invalid invalid = listener->surface_->apply_update(x, y, width, height, stride,
                                                                  format, bytes_of(data), change)) {
        listener->reject(invocation, "Update", *invalid);
        return TRUE;
    }
    qemu_display_listener_complete_update(skeleton, invocation);
    if (resized_before_update)
        change = {
            {0, 0, int32_t(listener->surface_->width()), int32_t(listener->surface_->height())},
            true};
    listener->sink_.frame_changed(listener->surface_, change);
    return TRUE;
}

gboolean ConsoleListener::on_disable(QemuDisplayListener *skeleton,
                                     GDBusMethodInvocation *invocation, gpointer self) {
    auto *listener = static_cast<ConsoleListener *>(self);
    listener->show(CopiedPixels{});
    qemu_display_listener_complete_disable(skeleton, invocation);
    listener->sink_.display_disabled();
    return TRUE;
}

std::shared_ptr<const frame::PixelSurface> ConsoleListener::picture() {
    if (const auto *shared = std::get_if<SharedMemory>(&source_)) {
        frame::PixelSurface::Change change;
        shared->map->copy_to(*surface_, {}, change);
    }
    return surface_;
}

gboolean ConsoleListener::on_mouse_set(QemuDisplayListener *skeleton,
                                       GDBusMethodInvocation *invocation, gint x, gint y, gint on,
                                       gpointer self) {
    auto *listener = static_cast<ConsoleListener *>(self);
    qemu_display_listener_complete_mouse_set(skeleton, invocation);
    listener->sink_.mouse_moved(x, y, on != 0);
    return TRUE;
}

gboolean ConsoleListener::on_cursor_define(QemuDisplayListener *skeleton,
                                           GDBusMethodInvocation *invocation, gint width,
                                           gint height, gint hot_x, gint hot_y, GVariant *data,
                                           gpointer self) {
    auto *listener = static_cast<ConsoleListener *>(self);
    const std::span<const uint8_t> pixels = bytes_of(data);
    if (frame::Invalid invalid = frame::check_cursor(width, height, hot_x, hot_y, pixels.size())) {
        listener->reject(invocation, "CursorDefine", *invalid);
        return TRUE;
    }
    qemu_display_listener_complete_cursor_define(skeleton, invocation);
    listener->sink_.cursor_defined(uint32_t(width), uint32_t(height), hot_x, hot_y,
                                   pixels.first(size_t(width) * size_t(height) * 4));
    return TRUE;
}

} // namespace vmcast::qemu
