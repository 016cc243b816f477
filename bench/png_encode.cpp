// How long the page's screenshot blocks vmcast's main loop: frame::encode_png of a 1920x1080
// picture (a gradient under text-like glyph rows, as a desktop is), best of 5 runs
// (bench/README.md, "Screenshots"). Usage: png_encode [WIDTH HEIGHT]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "frame/png_encoding.h"

int main(int argc, char **argv) {
    const uint32_t width = argc > 2 ? uint32_t(atoi(argv[1])) : 1920;
    const uint32_t height = argc > 2 ? uint32_t(atoi(argv[2])) : 1080;
    std::vector<uint8_t> pixels(size_t(width) * height * 4);
    for (uint32_t y = 0; y < height; y++) {
        for (uint32_t x = 0; x < width; x++) {
            uint8_t *pixel = &pixels[(size_t(y) * width + x) * 4];
            const bool glyph = (y / 16) % 2 == 0 && ((x * 7 + y * 3) / 5) % 3 == 0;
            pixel[0] = glyph ? 230 : uint8_t(x * 255 / width);
            pixel[1] = glyph ? 230 : uint8_t(y * 255 / height);
            pixel[2] = glyph ? 230 : 80;
            pixel[3] = 255;
        }
    }
    double best_ms = 1e9;
    size_t bytes = 0;
    for (int run = 0; run < 5; run++) {
        std::string error;
        const auto start = std::chrono::steady_clock::now();
        bytes = vmcast::frame::encode_png(width, height, size_t(width) * 4, pixels, error).size();
        const std::chrono::duration<double, std::milli> took =
            std::chrono::steady_clock::now() - start;
        if (bytes == 0) {
            fprintf(stderr, "png_encode: %s\n", error.c_str());
            return 1;
        }
        best_ms = std::min(best_ms, took.count());
    }
    printf("%ux%u: %.1f ms, %zu bytes\n", width, height, best_ms, bytes);
    return 0;
}
