#include "frame/png_encoding.h"

#include <png.h>

#include <new>

namespace vmcast::frame {

std::vector<uint8_t> encode_png(uint32_t width, uint32_t height, size_t stride,
                                std::span<const uint8_t> bgrx, std::string &error) {
    if (width == 0 || height == 0 || stride < size_t(width) * 4 ||
        bgrx.size() < stride * (height - 1) + size_t(width) * 4) {
        error = "no picture to encode";
        return {};
    }
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
    png_infop info = png ? png_create_info_struct(png) : nullptr;
    if (!info) {
        png_destroy_write_struct(&png, nullptr);
        error = "cannot start a PNG encoder";
        return {};
    }
    std::vector<uint8_t> encoded;
    std::vector<uint8_t> row(size_t(width) * 3);
    // libpng reports errors by longjmp; nothing with a destructor is created past this point.
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        error = "cannot encode the picture as PNG";
        return {};
    }
    png_set_write_fn(
        png, &encoded,
        [](png_structp writer, png_bytep data, png_size_t size) {
            auto *out = static_cast<std::vector<uint8_t> *>(png_get_io_ptr(writer));
            // No exception may cross libpng's C frames; png_error longjmps out instead, after
            // the exception is gone.
            bool out_of_memory = false;
            try {
                out->insert(out->end(), data, data + size);
            } catch (const std::bad_alloc &) {
                out_of_memory = true;
            }
            if (out_of_memory)
                png_error(writer, "out of memory");
        },
        nullptr);
    // Fast over small: the user waits for the download, and a worse ratio costs nothing worth
    // having for a one-off file (bench/README.md: 1080p in 40-90 ms at level 1).
    png_set_compression_level(png, 1); // zlib's Z_BEST_SPEED
    png_set_filter(png, PNG_FILTER_TYPE_BASE, PNG_FILTER_SUB);
    png_set_IHDR(png, info, width, height, 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    for (uint32_t y = 0; y < height; y++) {
        const uint8_t *pixel = bgrx.data() + size_t(y) * stride;
        for (uint32_t x = 0; x < width; x++, pixel += 4) {
            row[size_t(x) * 3 + 0] = pixel[2];
            row[size_t(x) * 3 + 1] = pixel[1];
            row[size_t(x) * 3 + 2] = pixel[0];
        }
        png_write_row(png, row.data());
    }
    png_write_end(png, nullptr);
    png_destroy_write_struct(&png, &info);
    return encoded;
}

} // namespace vmcast::frame
