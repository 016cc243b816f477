// Everything vmcast runs for one graphic console: the QEMU listener feeding a compositor
// output, whose frames feed a PipeWire stream.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "compositor/console_output.h"
#include "pipewire/console_stream.h"
#include "qemu/console_listener.h"
#include "qemu/display_bus.h"

namespace vmcast::app {

class ConsoleSession final : public qemu::DisplaySink {
  public:
    ConsoleSession(compositor::Compositor &compositor, pipewire::PipeWireContext &pipewire,
                   GDBusConnection *bus, const qemu::VmInfo &vm, const qemu::ConsoleInfo &console,
                   uint32_t max_fps, std::function<void()> on_closed);

    bool start(std::string &error) { return listener_.start(error); }
    const std::string &node_name() const { return stream_.node_name(); }

    void frame_changed(const std::shared_ptr<const frame::CpuFrame> &frame,
                       const frame::PixelSurface::Change &change) override;
    void cursor_defined(uint32_t width, uint32_t height, int32_t hot_x, int32_t hot_y,
                        std::span<const uint8_t> argb) override;
    void mouse_moved(int32_t x, int32_t y, bool visible) override;
    void display_disabled() override;
    void after_next_render(std::function<void()> done) override;
    void listener_closed() override;

  private:
    // Destroyed in reverse order: the listener stops feeding before the output goes.
    compositor::ConsoleOutput output_;
    pipewire::ConsoleStream stream_;
    qemu::ConsoleListener listener_;
    std::function<void()> on_closed_;
};

} // namespace vmcast::app
