// CPU conversion of the YUV frames QEMU can hand over as multi-plane DMA-BUFs
// (ScanoutDMABUF2) to the 4-byte B,G,R,A pixels vmcast composites and streams, for when no
// GPU imports them.
#pragma once

#include <cstddef>
#include <cstdint>

#include "frame/damage.h"

namespace vmcast::frame {

// The RGB primaries' weights behind Y, U and V. A guest's YUV scanout carries no colour
// description, so vmcast assumes what HD video uses: BT.709.
enum class YuvMatrix { Bt601, Bt709 };

// Limited ("TV", "studio") range puts black at Y = 16, white at Y = 235 and chroma in
// 16..240; full range uses all of 0..255 for both.
enum class YuvRange { Limited, Full };

struct YuvColorimetry {
    YuvMatrix matrix = YuvMatrix::Bt709;
    YuvRange range = YuvRange::Limited;
};

// Both functions convert the part of rect inside the width x height image (nothing when that
// is empty) and write pixels B, G, R, 0xff at dst + y * dst_stride + x * 4: dst addresses
// pixel (0, 0) of the whole destination image, and no byte outside rect is written. Values
// out of range (Y below 16 in limited range, colours outside the RGB cube) are clamped to
// 0..255. Each pixel takes the chroma sample that covers it (the co-sited, left/top one); no
// filtering. No other checks: callers validate plane sizes first.

// NV12: a Y plane of width x height bytes, rows y_stride apart, then a U,V plane with one
// U,V byte pair per two Y columns and one row per two Y rows, rows uv_stride apart (odd
// widths and heights round the chroma size up).
void convert_nv12_to_bgra(const uint8_t *y_plane, uint32_t y_stride, const uint8_t *uv_plane,
                          uint32_t uv_stride, uint32_t width, uint32_t height, Rect rect,
                          uint8_t *dst, size_t dst_stride, YuvColorimetry colorimetry = {});

// YUYV (YUY2): one plane, bytes Y0 U Y1 V for each two pixels, rows stride apart (odd
// widths: the last pair's Y1 is not used).
void convert_yuyv_to_bgra(const uint8_t *plane, uint32_t stride, uint32_t width, uint32_t height,
                          Rect rect, uint8_t *dst, size_t dst_stride,
                          YuvColorimetry colorimetry = {});

} // namespace vmcast::frame
