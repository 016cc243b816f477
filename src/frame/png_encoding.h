// A console's picture as PNG bytes, for screenshots (the command line's and the page's).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace vmcast::frame {

// An opaque 8-bit RGB PNG of width x height pixels of 4 bytes, B, G, R, X, rows stride bytes
// apart. Empty, with a one-line reason in error, on failure.
std::vector<uint8_t> encode_png(uint32_t width, uint32_t height, size_t stride,
                                std::span<const uint8_t> bgrx, std::string &error);

} // namespace vmcast::frame
