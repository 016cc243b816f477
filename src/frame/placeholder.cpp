#include "frame/placeholder.h"

#include <cstring>
#include <vector>

#include "frame/pixel_format.h"

namespace vmcast::frame {

void show_placeholder(PixelSurface &surface, uint32_t width, uint32_t height,
                      PixelSurface::Change &change) {
    constexpr uint32_t kStripeWidth = 16;
    constexpr uint32_t kDark = 0xff303030, kLight = 0xff505050; // x8r8g8b8 words
    std::vector<uint32_t> pixels(size_t(width) * height);
    for (uint32_t y = 0; y < height; y++) {
        for (uint32_t x = 0; x < width; x++)
            pixels[size_t(y) * width + x] = ((x + y) / kStripeWidth) % 2 ? kLight : kDark;
    }
    const auto *bytes = reinterpret_cast<const uint8_t *>(pixels.data());
    surface.apply_scanout(width, height, width * 4, pixman_code::x8r8g8b8,
                          {bytes, pixels.size() * 4}, change);
}

} // namespace vmcast::frame
