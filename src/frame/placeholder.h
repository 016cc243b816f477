// The picture shown instead of a frame vmcast cannot read (a tiled DMA-BUF without a GPU):
// recognisably not the guest's screen, never garbage.
#pragma once

#include <cstdint>

#include "frame/pixel_surface.h"

namespace vmcast::frame {

// Fills surface, at width x height, with grey diagonal stripes.
void show_placeholder(PixelSurface &surface, uint32_t width, uint32_t height,
                      PixelSurface::Change &change);

} // namespace vmcast::frame
