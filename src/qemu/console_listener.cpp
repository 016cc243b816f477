#include "qemu/console_listener.h"

#include <utility>

#include "common/unique_fd.h"
#include "qemu-display1.h"
#include "qemu/call_timeout.h"

namespace vmcast::qemu {
namespace {

bool is_cancelled(const GError *error) {
    return error && g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
}

} // namespace

ConsoleListener::ConsoleListener(GDBusConnection *bus, const std::string &bus_name,
                                 uint32_t console_index, DisplaySink &sink, std::string log_name)
    : bus_(bus), bus_name_(bus_name), console_index_(console_index), sink_(sink),
      log_name_(std::move(log_name)) {}

ConsoleListener::~ConsoleListener() {
    connection_.reset();
    answer_pending_updates();
    g_cancellable_cancel(cancellable_.get());
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
    g_dbus_proxy_set_default_timeout(G_DBUS_PROXY(console), kQemuCallTimeoutMs);
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

    // QEMU answers RegisterListener and then authenticates and reads our properties
    // synchronously in its main loop, so the handshake runs on our main loop meanwhile, with
    // the listener object in place before QEMU can look.
    GObjectPtr<GUnixFDList> fds;
    connection_ = ListenerBus::serve_new_pair(*this, fds, error);
    if (!connection_)
        return false;
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

void ConsoleListener::connection_closed() {
    g_info("%s: QEMU closed the display connection", log_name_.c_str());
    sink_.listener_closed();
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
    if (frame::check_surface_size("console", width, height) ||
        frame::clip_to_surface(update, width, height) != update)
        return false;
    surface.resize(width, height, change);
    return change.resized;
}

void ConsoleListener::answer_after_render(ListenerCall call) {
    pending_update_answers_.push_back(std::move(call));
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
    for (ListenerCall &call : std::exchange(pending_update_answers_, {}))
        call.succeed();
}

void ConsoleListener::reject(ListenerCall &call, const char *method, const std::string &reason) {
    g_warning("%s: rejected %s from QEMU: %s", log_name_.c_str(), method, reason.c_str());
    call.reject(reason);
}

void ConsoleListener::scanout(ListenerCall call, uint32_t width, uint32_t height, uint32_t stride,
                              uint32_t format, std::span<const uint8_t> data) {
    g_debug("%s: Scanout %ux%u stride %u format 0x%08x", log_name_.c_str(), width, height, stride,
            format);
    frame::PixelSurface::Change change;
    if (frame::Invalid invalid =
            surface_->apply_scanout(width, height, stride, format, data, change)) {
        reject(call, "Scanout", *invalid);
        return;
    }
    show(CopiedPixels{});
    call.succeed();
    sink_.frame_changed(surface_, change);
}

void ConsoleListener::update(ListenerCall call, int32_t x, int32_t y, int32_t width, int32_t height,
                             uint32_t stride, uint32_t format, std::span<const uint8_t> data) {
    g_debug("%s: Update %d,%d %dx%d stride %u format 0x%08x", log_name_.c_str(), x, y, width,
            height, stride, format);
    keep_shared_memory_picture();
    show(CopiedPixels{});
    frame::PixelSurface::Change change;
    const bool resized_before_update = follow_console_size({x, y, width, height}, change);
    if (frame::Invalid invalid =
            surface_->apply_update(x, y, width, height, stride, format, data, change)) {
        reject(call, "Update", *invalid);
        return;
    }
    call.succeed();
    if (resized_before_update)
        change = {{0, 0, int32_t(surface_->width()), int32_t(surface_->height())}, true};
    sink_.frame_changed(surface_, change);
}

void ConsoleListener::disable(ListenerCall call) {
    show(CopiedPixels{});
    call.succeed();
    sink_.display_disabled();
}

std::shared_ptr<const frame::PixelSurface> ConsoleListener::picture() {
    if (const auto *shared = std::get_if<SharedMemory>(&source_)) {
        frame::PixelSurface::Change change;
        shared->map->copy_to(*surface_, {}, change);
    }
    return surface_;
}

void ConsoleListener::mouse_set(ListenerCall call, int32_t x, int32_t y, bool on) {
    call.succeed();
    sink_.mouse_moved(x, y, on);
}

void ConsoleListener::cursor_define(ListenerCall call, int32_t width, int32_t height, int32_t hot_x,
                                    int32_t hot_y, std::span<const uint8_t> data) {
    if (frame::Invalid invalid = frame::check_cursor(width, height, hot_x, hot_y, data.size())) {
        reject(call, "CursorDefine", *invalid);
        return;
    }
    call.succeed();
    sink_.cursor_defined(uint32_t(width), uint32_t(height), hot_x, hot_y,
                         data.first(size_t(width) * size_t(height) * 4));
}

} // namespace vmcast::qemu
