// What a console listener tells the rest of vmcast. Arguments are already validated.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <vector>

#include "frame/cpu_frame.h"
#include "frame/dmabuf_frame.h"
#include "frame/pixel_surface.h"

namespace vmcast::qemu {

class DisplaySink {
  public:
    virtual ~DisplaySink() = default;
    // The console's picture: vmcast's own copy, or QEMU's shared memory mapped in place.
    virtual void frame_changed(const std::shared_ptr<const frame::CpuFrame> &frame,
                               const frame::PixelSurface::Change &change) = 0;
    // width x height native-endian ARGB32 words.
    virtual void cursor_defined(uint32_t width, uint32_t height, int32_t hot_x, int32_t hot_y,
                                std::span<const uint8_t> argb) = 0;
    virtual void mouse_moved(int32_t x, int32_t y, bool visible) = 0;
    // Shows a validated DMA-BUF through the GPU; false when it cannot, and the listener reads
    // it on the CPU instead.
    virtual bool show_dmabuf_on_gpu(const std::vector<frame::DmabufPlane> &planes,
                                    const frame::DmabufLayout &layout) = 0;
    // Changed pixels of the DMA-BUF shown on the GPU (picture coordinates, top row first).
    virtual void dmabuf_damaged(const frame::Rect &rect) = 0;
    virtual void display_disabled() = 0;
    // Runs done once the changes reported so far are rendered.
    virtual void after_next_render(std::function<void()> done) = 0;
    // The listener connection is gone (QEMU quit or dropped us).
    virtual void listener_closed() = 0;
};

} // namespace vmcast::qemu
