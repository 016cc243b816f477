#include "app/png_file.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <vector>

#include <png.h>

namespace vmcast::app {

bool write_png(const frame::PixelSurface &surface, const std::string &path, std::string &error) {
    struct FileClose {
        void operator()(FILE *file) const { fclose(file); }
    };
    std::unique_ptr<FILE, FileClose> file(fopen(path.c_str(), "wb"));
    if (!file) {
        error = "cannot write " + path + ": " + strerror(errno);
        return false;
    }
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
    png_infop info = png ? png_create_info_struct(png) : nullptr;
    if (!info) {
        png_destroy_write_struct(&png, nullptr);
        error = "cannot start a PNG encoder";
        return false;
    }
    std::vector<uint8_t> row(size_t(surface.width()) * 3);
    // libpng reports errors by longjmp; nothing with a destructor is created past this point.
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        error = "cannot encode " + path;
        return false;
    }
    png_init_io(png, file.get());
    png_set_IHDR(png, info, surface.width(), surface.height(), 8, PNG_COLOR_TYPE_RGB,
                 PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    for (uint32_t y = 0; y < surface.height(); y++) {
        const uint8_t *pixel = surface.data() + size_t(y) * surface.stride();
        for (uint32_t x = 0; x < surface.width(); x++, pixel += 4) {
            row[size_t(x) * 3 + 0] = pixel[2];
            row[size_t(x) * 3 + 1] = pixel[1];
            row[size_t(x) * 3 + 2] = pixel[0];
        }
        png_write_row(png, row.data());
    }
    png_write_end(png, nullptr);
    png_destroy_write_struct(&png, &info);
    if (fflush(file.get()) != 0) {
        error = "cannot write " + path + ": " + strerror(errno);
        return false;
    }
    return true;
}

} // namespace vmcast::app
