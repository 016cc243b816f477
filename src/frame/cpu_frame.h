// A console picture the CPU can read in place: rows of 32-bit pixels in a DRM format. The
// compositor shows these without copying them (pixman reads them at render time).
#pragma once

#include <cstdint>

namespace vmcast::frame {

class CpuFrame {
  public:
    virtual ~CpuFrame() = default;
    virtual uint32_t width() const = 0;
    virtual uint32_t height() const = 0;
    virtual uint32_t stride() const = 0;
    // A DRM fourcc both wlroots renderers read: XRGB8888, ARGB8888, XBGR8888 or ABGR8888.
    virtual uint32_t drm_format() const = 0;
    virtual const uint8_t *data() const = 0;
    bool empty() const { return width() == 0 || height() == 0; }
};

} // namespace vmcast::frame
