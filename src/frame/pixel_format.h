// Pixel formats QEMU sends as pixman_format_code_t, and their conversion to the 32-bit
// B,G,R,A byte order (DRM ARGB8888 / XRGB8888 on little-endian) that vmcast composites and
// streams.
#pragma once

#include <cstddef>
#include <cstdint>

namespace vmcast::frame {

// pixman_format_code_t values: bpp << 24 | type << 16 | a << 12 | r << 8 | g << 4 | b.
namespace pixman_code {
inline constexpr uint32_t x8r8g8b8 = 0x20020888;
inline constexpr uint32_t a8r8g8b8 = 0x20028888;
inline constexpr uint32_t b8g8r8x8 = 0x20080888;
inline constexpr uint32_t b8g8r8a8 = 0x20088888;
inline constexpr uint32_t x8b8g8r8 = 0x20030888;
inline constexpr uint32_t a8b8g8r8 = 0x20038888;
inline constexpr uint32_t r8g8b8x8 = 0x20090888;
inline constexpr uint32_t r8g8b8a8 = 0x20098888;
inline constexpr uint32_t r8g8b8 = 0x18020888;
inline constexpr uint32_t b8g8r8 = 0x18030888;
inline constexpr uint32_t r5g6b5 = 0x10020565;
inline constexpr uint32_t x1r5g5b5 = 0x10020555;
} // namespace pixman_code

// DRM fourccs of the converted pixels (bytes B, G, R, X/A in memory).
inline constexpr uint32_t kDrmFormatXrgb8888 = 0x34325258; // 'XR24'
inline constexpr uint32_t kDrmFormatArgb8888 = 0x34325241; // 'AR24'

struct PixelFormat {
    uint32_t pixman_code;
    const char *name; // pixman's spelling, e.g. "x8r8g8b8"
    uint32_t bytes_per_pixel;
    bool has_alpha;
    // Fourcc of this format's pixels after convert_to_bgra(): ARGB8888 when has_alpha, else
    // XRGB8888.
    uint32_t converted_drm_format;
};

// The table entry for a pixman code, or nullptr when vmcast does not handle that code.
const PixelFormat *find_pixman_format(uint32_t pixman_code);

// Converts width x height pixels. Source pixels are what QEMU's pixman image holds: 32- and
// 16-bit formats are native-endian words, 24-bit formats are packed the way pixman reads them.
// Output pixels are 4 bytes B, G, R, A; formats without alpha get A = 0xff. Channels narrower
// than 8 bits are widened by bit replication, as pixman does, so results equal QEMU's own
// screendump. No checks: callers validate sizes first (validation.h).
void convert_to_bgra(const PixelFormat &format, const uint8_t *src, size_t src_stride, uint8_t *dst,
                     size_t dst_stride, uint32_t width, uint32_t height);

} // namespace vmcast::frame
