#include "frame/dmabuf_frame.h"

#include <linux/dma-buf.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "frame/pixel_format.h"
#include "frame/plane_copy.h"

namespace vmcast::frame {
namespace {

constexpr uint64_t kModifierLinear = 0;
constexpr uint64_t kModifierInvalid = 0x00ffffffffffffffULL;

// DRM fourccs are little-endian channel orders; on a little-endian host they are the pixman
// formats below.
uint32_t pixman_format_for_fourcc(uint32_t fourcc) {
    switch (fourcc) {
    case 0x34325258: // XR24
        return pixman_code::x8r8g8b8;
    case 0x34325241: // AR24
        return pixman_code::a8r8g8b8;
    case 0x34324258: // XB24
        return pixman_code::x8b8g8r8;
    case 0x34324241: // AB24
        return pixman_code::a8b8g8r8;
    default:
        return 0;
    }
}

std::string hex(uint64_t value) {
    char text[32];
    snprintf(text, sizeof(text), "0x%llx", static_cast<unsigned long long>(value));
    return text;
}

// Brackets CPU reads for exporters that need cache maintenance; other fds (a memfd) answer
// ENOTTY, which is harmless.
void sync_dmabuf(int fd, uint64_t flags) {
    dma_buf_sync sync{flags | DMA_BUF_SYNC_READ};
    while (ioctl(fd, DMA_BUF_IOCTL_SYNC, &sync) < 0 && (errno == EINTR || errno == EAGAIN)) {
    }
}

} // namespace

std::unique_ptr<DmabufFrame> DmabufFrame::map(UniqueFd fd, uint32_t width, uint32_t height,
                                              uint32_t stride, uint32_t fourcc,
                                              uint64_t modifier, bool y0_top,
                                              std::string &error) {
    const uint32_t pixman_format = pixman_format_for_fourcc(fourcc);
    if (!pixman_format) {
        error = "unsupported DMA-BUF format " + hex(fourcc);
        return nullptr;
    }
    if (modifier != kModifierLinear && modifier != kModifierInvalid) {
        error = "DMA-BUF modifier " + hex(modifier) +
                " is tiled; it can only be read through the GPU";
        return nullptr;
    }
    const off_t fd_size = lseek(fd.get(), 0, SEEK_END);
    if (fd_size < 0) {
        error = std::string("cannot size the DMA-BUF: ") + strerror(errno);
        return nullptr;
    }
    if (Invalid invalid = check_plane_in_fd(width, height, uint64_t(width) * 4, stride, 0,
                                            uint64_t(fd_size))) {
        error = *invalid;
        return nullptr;
    }
    const size_t mapped_size = size_t(stride) * height;
    void *pixels = mmap(nullptr, mapped_size, PROT_READ, MAP_SHARED, fd.get(), 0);
    if (pixels == MAP_FAILED) {
        error = std::string("cannot map the DMA-BUF: ") + strerror(errno);
        return nullptr;
    }
    std::unique_ptr<DmabufFrame> frame(new DmabufFrame());
    frame->fd_ = std::move(fd);
    frame->pixels_ = static_cast<const uint8_t *>(pixels);
    frame->mapped_size_ = mapped_size;
    frame->width_ = width;
    frame->height_ = height;
    frame->stride_ = stride;
    frame->pixman_format_ = pixman_format;
    frame->bottom_up_ = y0_top;
    return frame;
}

DmabufFrame::~DmabufFrame() {
    if (pixels_)
        munmap(const_cast<uint8_t *>(pixels_), mapped_size_);
}

Invalid DmabufFrame::copy_to(PixelSurface &surface, Rect rect, PixelSurface::Change &change) const {
    sync_dmabuf(fd_.get(), DMA_BUF_SYNC_START);
    Invalid invalid = copy_plane_to_surface(
        {pixels_, width_, height_, stride_, pixman_format_, bottom_up_}, rect, surface, change);
    sync_dmabuf(fd_.get(), DMA_BUF_SYNC_END);
    return invalid;
}

} // namespace vmcast::frame
