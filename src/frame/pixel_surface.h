// The picture of one console kept in vmcast's own memory, built from the pixels QEMU sends
// over the bus (Scanout / Update). Stored as 4-byte B, G, R, A pixels with a tight stride.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "frame/cpu_frame.h"
#include "frame/damage.h"
#include "frame/validation.h"

namespace vmcast::frame {

class PixelSurface final : public CpuFrame {
  public:
    struct Change {
        Rect damage;          // pixels that changed, in surface coordinates
        bool resized = false; // the surface size or format changed
    };

    // Replaces the whole surface. On error the surface is left as it was.
    Invalid apply_scanout(uint32_t width, uint32_t height, uint32_t stride, uint32_t pixman_format,
                          std::span<const uint8_t> data, Change &change);

    // Writes a rectangle. A rectangle reaching past the surface grows it to cover the
    // rectangle (QEMU 7.2 switches VGA text mode that way): old pixels keep their place, new
    // ones start black, and change.resized is set. On error the surface is left as it was.
    Invalid apply_update(int32_t x, int32_t y, int32_t width, int32_t height, uint32_t stride,
                         uint32_t pixman_format, std::span<const uint8_t> data, Change &change);

    // Sets a new size without new content (Console Width/Height changed): pixels inside both
    // sizes are kept, the rest start black. No-op when the size is unchanged or fails
    // check_surface_size.
    void resize(uint32_t width, uint32_t height, Change &change);

    uint32_t width() const override { return width_; }
    uint32_t height() const override { return height_; }
    uint32_t stride() const override { return width_ * 4; }
    // kDrmFormatXrgb8888 or kDrmFormatArgb8888, from the last pixman format received.
    uint32_t drm_format() const override { return drm_format_; }
    const uint8_t *data() const override { return pixels_.data(); }

  private:
    uint32_t width_ = 0;
    uint32_t height_ = 0;
    uint32_t drm_format_ = 0x34325258; // XRGB8888
    std::vector<uint8_t> pixels_;
};

} // namespace vmcast::frame
