// Copying part of a pixel plane that lives outside vmcast (a DMA-BUF, a shared memory map)
// into a console's PixelSurface.
#pragma once

#include <cstdint>

#include "frame/damage.h"
#include "frame/pixel_surface.h"

namespace vmcast::frame {

struct PlaneView {
    const uint8_t *pixels; // row 0 as stored
    uint32_t width;
    uint32_t height;
    uint32_t stride;
    uint32_t pixman_format;
    bool bottom_up; // rows stored last-first (GL convention)
};

// Converts the rectangle (the whole plane when empty) into surface, which first takes the
// plane's size. change says what changed; a new size or format marks the whole surface.
Invalid copy_plane_to_surface(const PlaneView &plane, Rect rect, PixelSurface &surface,
                              PixelSurface::Change &change);

} // namespace vmcast::frame
