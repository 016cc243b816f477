#include "frame/pixel_surface.h"

#include <algorithm>
#include <cstring>

#include "frame/copy_stats.h"
#include "frame/pixel_format.h"

namespace vmcast::frame {

namespace {

constexpr uint8_t kOpaqueBlack[4] = {0, 0, 0, 0xff};

std::vector<uint8_t> opaque_black_pixels(uint32_t width, uint32_t height) {
    const size_t count = size_t(width) * height;
    std::vector<uint8_t> pixels(count * 4);
    for (size_t i = 0; i < count; ++i) {
        std::memcpy(&pixels[i * 4], kOpaqueBlack, sizeof kOpaqueBlack);
    }
    return pixels;
}

// A width x height copy of old_pixels (old_width x old_height): the overlap keeps its pixels,
// the rest is black.
std::vector<uint8_t> resized_copy(const std::vector<uint8_t> &old_pixels, uint32_t old_width,
                                  uint32_t old_height, uint32_t width, uint32_t height) {
    std::vector<uint8_t> pixels = opaque_black_pixels(width, height);
    const size_t kept_row_bytes = size_t(std::min(width, old_width)) * 4;
    const uint32_t kept_rows = std::min(height, old_height);
    if (kept_row_bytes == 0) {
        return pixels;
    }
    for (uint32_t row = 0; row < kept_rows; ++row) {
        std::memcpy(pixels.data() + size_t(row) * width * 4,
                    old_pixels.data() + size_t(row) * old_width * 4, kept_row_bytes);
    }
    return pixels;
}

} // namespace

Invalid PixelSurface::apply_scanout(uint32_t width, uint32_t height, uint32_t stride,
                                    uint32_t pixman_format, std::span<const uint8_t> data,
                                    Change &change) {
    change = {};
    if (auto invalid = check_scanout(width, height, stride, pixman_format, data.size())) {
        return invalid;
    }
    const PixelFormat &format = *find_pixman_format(pixman_format);
    const bool same_size = width == width_ && height == height_;
    if (!same_size) {
        // Allocated before anything changes, so a failed allocation leaves the surface intact.
        pixels_ = std::vector<uint8_t>(size_t(width) * height * 4);
        width_ = width;
        height_ = height;
    }
    convert_to_bgra(format, data.data(), stride, pixels_.data(), this->stride(), width, height);

    change.resized = !same_size || format.converted_drm_format != drm_format_;
    copy_stats().converted_bytes += uint64_t(width) * height * 4;
    change.damage = {0, 0, int32_t(width), int32_t(height)};
    drm_format_ = format.converted_drm_format;
    return std::nullopt;
}

Invalid PixelSurface::apply_update(int32_t x, int32_t y, int32_t width, int32_t height,
                                   uint32_t stride, uint32_t pixman_format,
                                   std::span<const uint8_t> data, Change &change) {
    change = {};
    if (auto invalid = check_update(x, y, width, height, stride, pixman_format, data.size())) {
        return invalid;
    }
    const PixelFormat &format = *find_pixman_format(pixman_format);
    // check_update keeps x + width and y + height within kMaxSurfaceDimension.
    const uint32_t new_width = std::max(width_, uint32_t(x + width));
    const uint32_t new_height = std::max(height_, uint32_t(y + height));
    if (new_width != width_ || new_height != height_) {
        if (auto invalid = check_surface_size("grown surface", new_width, new_height)) {
            return invalid;
        }
        pixels_ = resized_copy(pixels_, width_, height_, new_width, new_height);
        width_ = new_width;
        height_ = new_height;
        change.resized = true;
    }
    if (format.converted_drm_format != drm_format_) {
        drm_format_ = format.converted_drm_format;
        change.resized = true;
    }
    uint8_t *destination = pixels_.data() + size_t(y) * this->stride() + size_t(x) * 4;
    convert_to_bgra(format, data.data(), stride, destination, this->stride(), uint32_t(width),
                    uint32_t(height));
    copy_stats().converted_bytes += uint64_t(width) * uint64_t(height) * 4;
    // A consumer reallocates its buffer on resize, so all of it needs repainting.
    change.damage =
        change.resized ? Rect{0, 0, int32_t(width_), int32_t(height_)} : Rect{x, y, width, height};
    return std::nullopt;
}

void PixelSurface::resize(uint32_t width, uint32_t height, Change &change) {
    change = {};
    // The size comes from the peer: never allocate past what validation allows elsewhere.
    const bool empty = width == 0 || height == 0;
    if ((!empty && check_surface_size("surface", width, height)) ||
        (width == width_ && height == height_)) {
        return;
    }
    pixels_ = resized_copy(pixels_, width_, height_, width, height);
    width_ = width;
    height_ = height;
    change.resized = true;
    change.damage = {0, 0, int32_t(width), int32_t(height)};
}

} // namespace vmcast::frame
