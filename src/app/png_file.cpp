#include "app/png_file.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

#include "frame/png_encoding.h"

namespace vmcast::app {

bool write_png(const frame::PixelSurface &surface, const std::string &path, std::string &error) {
    const std::vector<uint8_t> png =
        frame::encode_png(surface.width(), surface.height(), surface.stride(),
                          {surface.data(), size_t(surface.stride()) * surface.height()}, error);
    if (png.empty())
        return false;
    struct FileClose {
        void operator()(FILE *file) const { fclose(file); }
    };
    std::unique_ptr<FILE, FileClose> file(fopen(path.c_str(), "wb"));
    if (!file || fwrite(png.data(), 1, png.size(), file.get()) != png.size() ||
        fflush(file.get()) != 0) {
        error = "cannot write " + path + ": " + strerror(errno);
        return false;
    }
    return true;
}

} // namespace vmcast::app
