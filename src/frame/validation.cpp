#include "frame/validation.h"

#include <cinttypes>
#include <cstdarg>
#include <cstdio>

#include "frame/pixel_format.h"

namespace vmcast::frame {

namespace {

// printf-style, so the compiler checks each message's arguments; every message fits in 256.
[[gnu::format(printf, 1, 2)]] std::string message(const char *format, ...) {
    char text[256];
    va_list args;
    va_start(args, format);
    std::vsnprintf(text, sizeof text, format, args);
    va_end(args);
    return text;
}

// Format, stride and buffer length of width x height pixels as QEMU sends them: stride x
// height bytes, even though the last row's padding is never read.
Invalid check_pixels(uint32_t width, uint32_t height, uint32_t stride, uint32_t pixman_format,
                     size_t data_size) {
    const PixelFormat *format = find_pixman_format(pixman_format);
    if (format == nullptr) {
        return message("unsupported pixel format 0x%08" PRIx32, pixman_format);
    }
    const uint64_t row_bytes = uint64_t(width) * format->bytes_per_pixel;
    if (stride < row_bytes) {
        return message("stride %" PRIu32 " is smaller than width %" PRIu32 " x %" PRIu32
                       " bytes per pixel",
                       stride, width, format->bytes_per_pixel);
    }
    // At most 2^32 x 2^14, so the product fits in 64 bits.
    const uint64_t needed = uint64_t(stride) * height;
    if (uint64_t(data_size) < needed) {
        return message("data is %zu bytes, stride %" PRIu32 " x height %" PRIu32 " needs %" PRIu64,
                       data_size, stride, height, needed);
    }
    return std::nullopt;
}

} // namespace

Invalid check_surface_size(const char *what, uint64_t width, uint64_t height) {
    if (width == 0 || height == 0) {
        return message("%s size %" PRIu64 "x%" PRIu64 " is empty", what, width, height);
    }
    if (width > kMaxSurfaceDimension || height > kMaxSurfaceDimension) {
        return message("%s size %" PRIu64 "x%" PRIu64 " exceeds the maximum %" PRIu32 "x%" PRIu32,
                       what, width, height, kMaxSurfaceDimension, kMaxSurfaceDimension);
    }
    if (width * height > kMaxSurfacePixels) {
        return message("%s size %" PRIu64 "x%" PRIu64 " is more than the maximum %" PRIu64
                       " pixels",
                       what, width, height, kMaxSurfacePixels);
    }
    return std::nullopt;
}

Invalid check_scanout(uint32_t width, uint32_t height, uint32_t stride, uint32_t pixman_format,
                      size_t data_size) {
    if (auto invalid = check_surface_size("scanout", width, height)) {
        return invalid;
    }
    return check_pixels(width, height, stride, pixman_format, data_size);
}

Invalid check_update(int32_t x, int32_t y, int32_t width, int32_t height, uint32_t stride,
                     uint32_t pixman_format, size_t data_size) {
    if (width <= 0 || height <= 0) {
        return message("update size %" PRId32 "x%" PRId32 " is empty", width, height);
    }
    if (x < 0 || y < 0) {
        return message("update position %" PRId32 ",%" PRId32 " is negative", x, y);
    }
    const int64_t right = int64_t(x) + width;
    const int64_t bottom = int64_t(y) + height;
    if (right > kMaxSurfaceDimension || bottom > kMaxSurfaceDimension) {
        return message("update %" PRId32 "x%" PRId32 " at %" PRId32 ",%" PRId32 " ends at %" PRId64
                       ",%" PRId64 ", past the maximum %" PRIu32 "x%" PRIu32,
                       width, height, x, y, right, bottom, kMaxSurfaceDimension,
                       kMaxSurfaceDimension);
    }
    return check_pixels(uint32_t(width), uint32_t(height), stride, pixman_format, data_size);
}

Invalid check_cursor(int32_t width, int32_t height, int32_t hot_x, int32_t hot_y,
                     size_t data_size) {
    if (width <= 0 || height <= 0) {
        return message("cursor size %" PRId32 "x%" PRId32 " is empty", width, height);
    }
    if (uint32_t(width) > kMaxCursorDimension || uint32_t(height) > kMaxCursorDimension) {
        return message("cursor size %" PRId32 "x%" PRId32 " exceeds the maximum %" PRIu32
                       "x%" PRIu32,
                       width, height, kMaxCursorDimension, kMaxCursorDimension);
    }
    if (hot_x < 0 || hot_x > width || hot_y < 0 || hot_y > height) {
        return message("cursor hot spot %" PRId32 ",%" PRId32 " is outside the %" PRId32 "x%" PRId32
                       " image",
                       hot_x, hot_y, width, height);
    }
    const uint64_t needed = uint64_t(width) * uint64_t(height) * 4;
    if (uint64_t(data_size) < needed) {
        return message("cursor data is %zu bytes, %" PRId32 "x%" PRId32 " ARGB32 needs %" PRIu64,
                       data_size, width, height, needed);
    }
    return std::nullopt;
}

Invalid check_plane_in_fd(uint32_t width, uint32_t height, uint64_t row_bytes, uint32_t stride,
                          uint64_t offset, uint64_t fd_size) {
    if (auto invalid = check_surface_size("plane", width, height)) {
        return invalid;
    }
    if (row_bytes == 0) {
        return message("plane rows of %" PRIu32 " pixels have 0 bytes", width);
    }
    if (stride < row_bytes) {
        return message("plane stride %" PRIu32 " is smaller than its row size %" PRIu64, stride,
                       row_bytes);
    }
    // row_bytes <= stride < 2^32 and height <= 2^14, so this cannot overflow; comparing
    // against the room after offset avoids adding offset, which can be anything.
    const uint64_t needed = uint64_t(stride) * (height - 1) + row_bytes;
    if (offset > fd_size || needed > fd_size - offset) {
        return message("plane of %" PRIu32 " rows, stride %" PRIu32 ", at offset %" PRIu64
                       " needs %" PRIu64 " bytes but the file has %" PRIu64,
                       height, stride, offset, needed, fd_size);
    }
    return std::nullopt;
}

} // namespace vmcast::frame
