// Writing a console's picture as a PNG file.
#pragma once

#include <string>

#include "frame/pixel_surface.h"

namespace vmcast::app {

// An opaque 8-bit RGB PNG. false and a one-line reason in error on failure.
bool write_png(const frame::PixelSurface &surface, const std::string &path, std::string &error);

} // namespace vmcast::app
