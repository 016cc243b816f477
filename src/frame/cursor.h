// QEMU's pointer, stored once per console: the compositor draws it into the frames, and the
// stream hands it to consumers that draw it themselves (metadata).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace vmcast::frame {

struct Cursor {
    // The image: width x height native-endian ARGB32 words (straight alpha), as QEMU sends
    // them; none while width is 0.
    uint32_t width = 0;
    uint32_t height = 0;
    int32_t hot_x = 0;
    int32_t hot_y = 0;
    std::vector<uint8_t> argb;
    // Where the pointer is, in picture coordinates.
    int32_t x = 0;
    int32_t y = 0;
    bool visible = false;

    // A validated image.
    void set_image(uint32_t image_width, uint32_t image_height, int32_t hot_spot_x,
                   int32_t hot_spot_y, std::span<const uint8_t> pixels) {
        width = image_width;
        height = image_height;
        hot_x = hot_spot_x;
        hot_y = hot_spot_y;
        argb.assign(pixels.begin(), pixels.end());
    }
    void move(int32_t to_x, int32_t to_y, bool shown) {
        x = to_x;
        y = to_y;
        visible = shown;
    }
};

} // namespace vmcast::frame
