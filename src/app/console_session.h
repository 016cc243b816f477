// Everything vmcast runs for one graphic console: the QEMU listener feeding a compositor
// output, whose frames feed a PipeWire stream (and, with --camera, a camera stream).
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "compositor/console_output.h"
#include "pipewire/camera_stream.h"
#include "pipewire/console_stream.h"
#include "qemu/console_input.h"
#include "qemu/console_listener.h"
#include "qemu/display_bus.h"

namespace vmcast::app {

class ConsoleSession final : public qemu::DisplaySink {
  public:
    ConsoleSession(compositor::Compositor &compositor, pipewire::PipeWireContext &pipewire,
                   GDBusConnection *bus, const qemu::VmInfo &vm, const qemu::ConsoleInfo &console,
                   uint32_t max_fps, pipewire::CursorMode cursor_mode,
                   std::optional<pipewire::CameraSettings> camera, std::function<void()> on_closed);
    ~ConsoleSession() override;

    // Connects the display listener and the input.
    void start();
    const std::string &node_name() const { return identity_.node_name; }
    // The console's keyboard, mouse and touch, shared by all its users (each with its own
    // InputClient).
    qemu::ConsoleInput &input() { return input_; }
    // The whole current picture once more, e.g. for a viewer's keyframe of a still screen.
    void request_frame(FrameRequest why) { output_.request_frame(why); }

    void frame_changed(const std::shared_ptr<const frame::CpuFrame> &frame,
                       const frame::PixelSurface::Change &change) override;
    void cursor_defined(uint32_t width, uint32_t height, int32_t hot_x, int32_t hot_y,
                        std::span<const uint8_t> argb) override;
    void mouse_moved(int32_t x, int32_t y, bool visible) override;
    bool show_dmabuf_on_gpu(const std::vector<frame::DmabufPlane> &planes,
                            const frame::DmabufLayout &layout) override;
    void dmabuf_damaged(const frame::Rect &rect) override;
    void display_disabled() override;
    void after_next_render(std::function<void()> done) override;
    void listener_closed() override;

  private:
    // The node appears with the console's first picture, so its first offer has the right
    // size: PipeWire 0.3.65 can hand a consumer unfilled buffers when a producer changes its
    // formats while that consumer's first link is being negotiated.
    void start_stream();
    // The nodes go: no frames reach them any more.
    void stop_streams();
    // PipeWire went away (false) or is back (true): the nodes go, and come back with the
    // console's current picture.
    void pipewire_connection_changed(bool connected);

    // Destroyed in reverse order: the listener stops feeding before the output goes.
    pipewire::PipeWireContext &pipewire_;
    pipewire::StreamIdentity identity_;
    uint32_t max_fps_;
    pipewire::CursorMode cursor_mode_;
    std::optional<pipewire::CameraSettings> camera_settings_; // none: no camera node
    frame::Cursor cursor_;
    compositor::ConsoleOutput output_;
    // Exists while PipeWire is connected, once the console showed its first picture.
    std::unique_ptr<pipewire::ConsoleStream> stream_;
    std::unique_ptr<pipewire::CameraStream> camera_; // with stream_, given camera_settings_
    bool shown_ = false; // the console showed a picture: it has a node whenever PipeWire is up
    qemu::ConsoleListener listener_;
    qemu::ConsoleInput input_;
    // With --wayland: clients' virtual keyboards and pointers reach input_ (gone before it).
    std::unique_ptr<compositor::AttachedConsoleInput> wayland_input_;
    std::function<void()> on_closed_;
    CallbackList<bool>::Subscription pipewire_watch_;
};

} // namespace vmcast::app
