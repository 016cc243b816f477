// How the PipeWire side reads a composited frame without knowing which renderer made it.
#pragma once

#include <cstddef>
#include <cstdint>

#include "frame/damage.h"

namespace vmcast {

class FrameReader {
  public:
    virtual ~FrameReader() = default;
    virtual uint32_t width() const = 0;
    virtual uint32_t height() const = 0;
    // Copies the rectangle (inside the frame) as 4-byte B,G,R,X pixels to dst, whose rows are
    // dst_stride bytes apart and whose first byte is the frame's pixel (0, 0).
    virtual bool read(const frame::Rect &rect, uint8_t *dst, size_t dst_stride) const = 0;
};

} // namespace vmcast
