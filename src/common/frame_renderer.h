// How the PipeWire side gets a composited frame into its buffers without knowing which renderer
// draws it: the compositor draws the regions a buffer lacks straight into that buffer.
#pragma once

#include <cstddef>
#include <cstdint>

#include "frame/damage.h"

namespace vmcast {

class FrameRenderer {
  public:
    virtual ~FrameRenderer() = default;
    virtual uint32_t width() const = 0;
    virtual uint32_t height() const = 0;
    // Draws the region (inside the frame) of the current frame into memory as 4-byte B,G,R,X
    // pixels: dst's rows are dst_stride bytes apart, its first byte is the frame's pixel (0, 0),
    // and pixels outside the region are left alone. False when it cannot.
    virtual bool render(const frame::DamageRegion &region, uint8_t *dst, size_t dst_stride) = 0;
};

} // namespace vmcast
