#include "frame/mapped_frame.h"

#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bit>
#include <cerrno>
#include <cstring>

#include "frame/pixel_format.h"
#include "frame/plane_copy.h"

namespace vmcast::frame {
namespace {

// The 32-bit pixman formats whose bytes both wlroots renderers read directly. pixman formats
// are native-endian words and DRM formats little-endian ones, so they only agree on
// little-endian hosts.
uint32_t drm_format_readable_in_place(uint32_t pixman_format) {
    if constexpr (std::endian::native != std::endian::little)
        return 0;
    switch (pixman_format) {
    case pixman_code::x8r8g8b8:
        return kDrmFormatXrgb8888;
    case pixman_code::a8r8g8b8:
        return kDrmFormatArgb8888;
    case pixman_code::x8b8g8r8:
        return 0x34324258; // XBGR8888
    case pixman_code::a8b8g8r8:
        return 0x34324241; // ABGR8888
    default:
        return 0;
    }
}

} // namespace

std::unique_ptr<MappedFrame> MappedFrame::map(UniqueFd fd, uint32_t offset, uint32_t width,
                                              uint32_t height, uint32_t stride,
                                              uint32_t pixman_format, std::string &error) {
    const PixelFormat *format = find_pixman_format(pixman_format);
    if (!format) {
        error = "unsupported pixel format " + std::to_string(pixman_format);
        return nullptr;
    }
    struct stat file {};
    if (fstat(fd.get(), &file) < 0) {
        error = std::string("cannot size the shared memory: ") + strerror(errno);
        return nullptr;
    }
    const uint64_t row_bytes = uint64_t(width) * format->bytes_per_pixel;
    if (Invalid invalid =
            check_plane_in_fd(width, height, row_bytes, stride, offset, uint64_t(file.st_size))) {
        error = *invalid;
        return nullptr;
    }
    // mmap offsets must be page-aligned; the frame starts inside the first page.
    const uint64_t page_size = uint64_t(sysconf(_SC_PAGESIZE));
    const uint64_t mapping_offset = offset - offset % page_size;
    const uint64_t frame_bytes = uint64_t(stride) * (height - 1) + row_bytes;
    const size_t length = size_t(offset - mapping_offset + frame_bytes);
    void *mapping = mmap(nullptr, length, PROT_READ, MAP_SHARED, fd.get(), off_t(mapping_offset));
    if (mapping == MAP_FAILED) {
        error = std::string("cannot map the shared memory: ") + strerror(errno);
        return nullptr;
    }
    std::unique_ptr<MappedFrame> frame(new MappedFrame());
    frame->fd_ = std::move(fd);
    frame->mapping_ = mapping;
    frame->mapping_length_ = length;
    frame->guard_ = std::make_unique<SigbusGuard>(mapping, length);
    if (!frame->guard_->active()) {
        error = SigbusGuard::kNoGuardLeft;
        return nullptr;
    }
    frame->pixels_ = static_cast<const uint8_t *>(mapping) + (offset - mapping_offset);
    frame->needed_file_size_ = uint64_t(offset) + frame_bytes;
    frame->width_ = width;
    frame->height_ = height;
    frame->stride_ = stride;
    frame->pixman_format_ = pixman_format;
    frame->drm_format_ = drm_format_readable_in_place(pixman_format);
    return frame;
}

MappedFrame::~MappedFrame() {
    guard_.reset();
    if (mapping_)
        munmap(mapping_, mapping_length_);
}

bool MappedFrame::still_backed(std::string &error) {
    struct stat file {};
    if (!guard_->faulted() && fstat(fd_.get(), &file) == 0 &&
        uint64_t(file.st_size) >= needed_file_size_)
        return true;
    error = "the shared memory shrank under the frame (it needs " +
            std::to_string(needed_file_size_) + " bytes)";
    return false;
}

Invalid MappedFrame::copy_to(PixelSurface &surface, Rect rect, PixelSurface::Change &change) const {
    return copy_plane_to_surface({pixels_, width_, height_, stride_, pixman_format_, false}, rect,
                                 surface, change);
}

} // namespace vmcast::frame
