// Checks of every size, stride, offset and format that arrives from the D-Bus peer. Each
// returns a one-line reason when the arguments cannot be used, nullopt when they can.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

namespace vmcast::frame {

inline constexpr uint32_t kMaxSurfaceDimension = 16384;
// At most 2^25 pixels (128 MiB at 4 bytes; 8K UHD, 7680x4320, is 33.2 million) in one surface.
// PipeWire gives each consumer up to 16 buffers of a picture: 2 GiB at this size, where
// 10976x14205 (8 buffers, 5 GB) failed the link's allocation for good; and each of vmcast's own
// copies of a 16384x16384 picture took 1 GiB and seconds to fill (bench/README.md).
inline constexpr uint64_t kMaxSurfacePixels = uint64_t(1) << 25;
inline constexpr uint32_t kMaxCursorDimension = 512;
inline constexpr uint32_t kMaxPlanes = 4;

using Invalid = std::optional<std::string>;

// Any surface: 1..kMaxSurfaceDimension each way, and at most kMaxSurfacePixels.
Invalid check_surface_size(const char *what, uint64_t width, uint64_t height);

// Scanout: a whole surface of width x height pixels, rows stride bytes apart, data_size bytes.
Invalid check_scanout(uint32_t width, uint32_t height, uint32_t stride, uint32_t pixman_format,
                      size_t data_size);

// Update: the rectangle (x, y, width, height) of the surface, rows stride bytes apart. The
// rectangle may lie outside the current surface (QEMU 7.2 grows the surface that way), but
// must be non-empty, start at x, y >= 0 and end within kMaxSurfaceDimension (the grown
// surface's pixel count is PixelSurface's to check).
Invalid check_update(int32_t x, int32_t y, int32_t width, int32_t height, uint32_t stride,
                     uint32_t pixman_format, size_t data_size);

// CursorDefine: width x height ARGB32 pixels (4 bytes each, no padding), hot spot inside
// the image or on its right/bottom edge.
Invalid check_cursor(int32_t width, int32_t height, int32_t hot_x, int32_t hot_y, size_t data_size);

// One plane of pixels inside a file (a memfd map or a linear DMA-BUF): height rows of
// row_bytes each, stride bytes apart, starting at offset, all within fd_size bytes.
// width x height must pass check_surface_size, and stride >= row_bytes.
Invalid check_plane_in_fd(uint32_t width, uint32_t height, uint64_t row_bytes, uint32_t stride,
                          uint64_t offset, uint64_t fd_size);

} // namespace vmcast::frame
