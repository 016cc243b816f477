#include "app/console_session.h"

#include "app/qemu_input_user.h"

#include "frame/copy_stats.h"

namespace vmcast::app {
namespace {

constexpr uint32_t kDefaultWidth = 640;
constexpr uint32_t kDefaultHeight = 480;

std::string node_name_for(const qemu::VmInfo &vm, const qemu::ConsoleInfo &console) {
    return qemu::console_node_name(vm.name, console.index);
}

std::string description_for(const qemu::VmInfo &vm, const qemu::ConsoleInfo &console) {
    std::string description = "VM " + vm.name + ", console " + std::to_string(console.index);
    if (!console.label.empty())
        description += " (" + console.label + ")";
    return description;
}

pipewire::StreamIdentity identity_for(const qemu::VmInfo &vm, const qemu::ConsoleInfo &console) {
    return {node_name_for(vm, console), description_for(vm, console), vm.name, vm.uuid,
            console.index};
}

uint32_t usable_or(uint32_t size, uint32_t fallback) {
    return size > 0 && size <= frame::kMaxSurfaceDimension ? size : fallback;
}

} // namespace

ConsoleSession::ConsoleSession(compositor::Compositor &compositor,
                               pipewire::PipeWireContext &pipewire, GDBusConnection *bus,
                               const qemu::VmInfo &vm, const qemu::ConsoleInfo &console,
                               uint32_t max_fps, pipewire::CursorMode cursor_mode,
                               std::optional<pipewire::CameraSettings> camera,
                               std::function<void()> on_closed)
    : pipewire_(pipewire), identity_(identity_for(vm, console)), max_fps_(max_fps),
      cursor_mode_(cursor_mode), camera_settings_(camera),
      output_(compositor, node_name_for(vm, console), description_for(vm, console),
              usable_or(console.width, kDefaultWidth), usable_or(console.height, kDefaultHeight),
              int(max_fps), cursor_),
      listener_(bus, vm.bus_name, console.index, *this, node_name_for(vm, console)),
      input_(bus, vm.bus_name, console.index, node_name_for(vm, console)),
      on_closed_(std::move(on_closed)),
      pipewire_watch_(pipewire.watch_connection(
          [this](bool connected) { pipewire_connection_changed(connected); })) {
    if (compositor::WaylandServer *server = compositor.wayland_server())
        wayland_input_ =
            server->attach_console_input(identity_.node_name, [this](const std::string &user_name) {
                return qemu_input_user(input_.new_client(user_name));
            });
}

void ConsoleSession::start() {
    listener_.start();
    input_.start([this](const std::string &error) {
        if (!error.empty())
            g_warning("%s: no input to the console: %s", identity_.node_name.c_str(),
                      error.c_str());
    });
}

ConsoleSession::~ConsoleSession() {
    stop_streams();
}

void ConsoleSession::stop_streams() {
    if (camera_)
        output_.remove_sink(*camera_);
    if (stream_)
        output_.remove_sink(*stream_);
    camera_.reset();
    stream_.reset();
}

void ConsoleSession::start_stream() {
    shown_ = true;
    if (!pipewire_.connected())
        return;     // made once PipeWire is back
    stop_streams(); // the output must not keep a sink that is replaced here
    stream_ = std::make_unique<pipewire::ConsoleStream>(pipewire_, identity_, output_.width(),
                                                        output_.height(), max_fps_, cursor_mode_,
                                                        cursor_, output_);
    output_.add_sink(*stream_);
    output_.set_cursor_drawn(cursor_mode_ == pipewire::CursorMode::Auto ||
                             cursor_mode_ == pipewire::CursorMode::Embedded);
    g_info("console %u is now PipeWire node %s (%ux%u)", identity_.console_index,
           identity_.node_name.c_str(), output_.width(), output_.height());
    if (!camera_settings_)
        return;
    // After the screen stream: frames reach the screen's consumers first.
    camera_ = std::make_unique<pipewire::CameraStream>(
        pipewire_, identity_, frame::Size{output_.width(), output_.height()}, camera_settings_->fps,
        camera_settings_->size, output_);
    output_.add_sink(*camera_);
    g_info("console %u is also camera node %s at %u frames a second", identity_.console_index,
           camera_->node_name().c_str(), camera_settings_->fps);
}

void ConsoleSession::pipewire_connection_changed(bool connected) {
    if (!connected) {
        stop_streams();
    } else if (shown_) {
        // The new stream asks the output for a whole frame once it streams: the picture the
        // console shows now, whether or not the guest draws again.
        start_stream();
    }
}

void ConsoleSession::frame_changed(const std::shared_ptr<const frame::CpuFrame> &frame,
                                   const frame::PixelSurface::Change &change) {
    frame::copy_stats().damaged_bytes += change.damage.area() * 4;
    output_.show_frame(frame, change);
    if (!shown_ && !frame->empty())
        start_stream();
}

void ConsoleSession::cursor_defined(uint32_t width, uint32_t height, int32_t hot_x, int32_t hot_y,
                                    std::span<const uint8_t> argb) {
    cursor_.set_image(width, height, hot_x, hot_y, argb);
    output_.cursor_changed(true);
    if (stream_)
        stream_->cursor_changed(true);
}

void ConsoleSession::mouse_moved(int32_t x, int32_t y, bool visible) {
    cursor_.move(x, y, visible);
    output_.cursor_changed(false);
    if (stream_)
        stream_->cursor_changed(false);
}

bool ConsoleSession::show_dmabuf_on_gpu(const std::vector<frame::DmabufPlane> &planes,
                                        const frame::DmabufLayout &layout) {
    if (!output_.show_dmabuf(planes, layout))
        return false;
    frame::copy_stats().damaged_bytes += layout.visible.area() * 4;
    if (!shown_)
        start_stream();
    return true;
}

void ConsoleSession::dmabuf_damaged(const frame::Rect &rect) {
    frame::copy_stats().damaged_bytes += rect.area() * 4;
    output_.damage_dmabuf(rect);
}

void ConsoleSession::display_disabled() {
    output_.show_nothing();
}

void ConsoleSession::after_next_render(std::function<void()> done) {
    output_.after_next_frame(std::move(done));
}

void ConsoleSession::listener_closed() {
    if (on_closed_)
        on_closed_();
}

} // namespace vmcast::app
