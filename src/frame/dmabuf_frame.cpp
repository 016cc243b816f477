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
#include "frame/yuv.h"

namespace vmcast::frame {
namespace {

constexpr uint64_t kModifierLinear = 0;
constexpr uint64_t kModifierInvalid = 0x00ffffffffffffffULL;

struct PlaneShape {
    uint32_t width;
    uint32_t height;
    uint64_t row_bytes;
};

struct FourccLayout {
    uint32_t fourcc;
    const char *name;
    uint32_t pixman_format; // 0 for YUV
    uint32_t plane_count;
};

// DRM fourccs are little-endian channel orders; on a little-endian host the RGB ones are the
// pixman formats beside them.
constexpr FourccLayout kFourccLayouts[] = {
    {drm_fourcc::xrgb8888, "XR24", pixman_code::x8r8g8b8, 1},
    {drm_fourcc::argb8888, "AR24", pixman_code::a8r8g8b8, 1},
    {drm_fourcc::xbgr8888, "XB24", pixman_code::x8b8g8r8, 1},
    {drm_fourcc::abgr8888, "AB24", pixman_code::a8b8g8r8, 1},
    {drm_fourcc::nv12, "NV12", 0, 2},
    {drm_fourcc::yuyv, "YUYV", 0, 1},
};

const FourccLayout *find_layout(uint32_t fourcc) {
    for (const FourccLayout &layout : kFourccLayouts) {
        if (layout.fourcc == fourcc)
            return &layout;
    }
    return nullptr;
}

PlaneShape plane_shape(uint32_t fourcc, size_t plane, uint32_t width, uint32_t height) {
    const uint32_t half_width = (width + 1) / 2;
    switch (fourcc) {
    case drm_fourcc::nv12:
        return plane == 0 ? PlaneShape{width, height, width}
                          : PlaneShape{half_width, (height + 1) / 2, uint64_t(half_width) * 2};
    case drm_fourcc::yuyv:
        return {width, height, uint64_t(half_width) * 4};
    default:
        return {width, height, uint64_t(width) * 4};
    }
}

std::string hex(uint64_t value) {
    char text[32];
    snprintf(text, sizeof(text), "0x%llx", static_cast<unsigned long long>(value));
    return text;
}

std::string describe(const Rect &rect) {
    return std::to_string(rect.width) + "x" + std::to_string(rect.height) + "+" +
           std::to_string(rect.x) + "+" + std::to_string(rect.y);
}

// Brackets CPU reads for exporters that need cache maintenance; other fds (a memfd) answer
// ENOTTY, which is harmless.
void sync_dmabuf(int fd, uint64_t flags) {
    dma_buf_sync sync{flags | DMA_BUF_SYNC_READ};
    while (ioctl(fd, DMA_BUF_IOCTL_SYNC, &sync) < 0 && (errno == EINTR || errno == EAGAIN)) {
    }
}

} // namespace

bool cpu_can_read_modifier(uint64_t modifier) {
    return modifier == kModifierLinear || modifier == kModifierInvalid;
}

Invalid check_dmabuf(const std::vector<DmabufPlane> &planes, const DmabufLayout &layout) {
    const FourccLayout *format = find_layout(layout.fourcc);
    if (!format)
        return "unsupported DMA-BUF format " + hex(layout.fourcc);
    if (planes.empty() || planes.size() > kMaxPlanes)
        return "DMA-BUF plane count " + std::to_string(planes.size()) + " is not between 1 and " +
               std::to_string(kMaxPlanes);
    if (planes.size() != format->plane_count)
        return std::string("DMA-BUF format ") + format->name + " has " +
               std::to_string(format->plane_count) + " plane(s), not " +
               std::to_string(planes.size());
    const Rect &visible = layout.visible;
    if (visible.empty() ||
        clip_to_surface(visible, layout.backing_width, layout.backing_height) != visible)
        return "visible part " + describe(visible) + " is not inside the " +
               std::to_string(layout.backing_width) + "x" + std::to_string(layout.backing_height) +
               " DMA-BUF";
    for (size_t i = 0; i < planes.size(); i++) {
        const PlaneShape shape =
            plane_shape(layout.fourcc, i, layout.backing_width, layout.backing_height);
        const off_t fd_size = lseek(planes[i].fd.get(), 0, SEEK_END);
        if (fd_size < 0)
            return "cannot size DMA-BUF plane " + std::to_string(i) + ": " + strerror(errno);
        if (Invalid invalid =
                check_plane_in_fd(shape.width, shape.height, shape.row_bytes, planes[i].stride,
                                  planes[i].offset, uint64_t(fd_size)))
            return "DMA-BUF plane " + std::to_string(i) + ": " + *invalid;
    }
    return std::nullopt;
}

std::unique_ptr<DmabufFrame> DmabufFrame::map(std::vector<DmabufPlane> planes,
                                              const DmabufLayout &layout, std::string &error) {
    if (Invalid invalid = check_dmabuf(planes, layout)) {
        error = *invalid;
        return nullptr;
    }
    if (!cpu_can_read_modifier(layout.modifier)) {
        error = "DMA-BUF modifier " + hex(layout.modifier) +
                " is tiled; it can only be read through the GPU";
        return nullptr;
    }
    std::unique_ptr<DmabufFrame> frame(new DmabufFrame());
    frame->layout_ = layout;
    frame->rgb_pixman_format_ = find_layout(layout.fourcc)->pixman_format;
    const uint64_t page_size = uint64_t(sysconf(_SC_PAGESIZE));
    for (size_t i = 0; i < planes.size(); i++) {
        DmabufPlane &plane = planes[i];
        const PlaneShape shape =
            plane_shape(layout.fourcc, i, layout.backing_width, layout.backing_height);
        // mmap offsets must be page-aligned; the plane starts inside the first page.
        const uint64_t mapping_offset = plane.offset - plane.offset % page_size;
        const size_t length = size_t(plane.offset - mapping_offset +
                                     uint64_t(plane.stride) * (shape.height - 1) + shape.row_bytes);
        void *mapping =
            mmap(nullptr, length, PROT_READ, MAP_SHARED, plane.fd.get(), off_t(mapping_offset));
        if (mapping == MAP_FAILED) {
            error = "cannot map DMA-BUF plane " + std::to_string(i) + ": " + strerror(errno);
            return nullptr;
        }
        MappedPlane &mapped = frame->planes_.emplace_back();
        mapped.fd = std::move(plane.fd);
        mapped.mapping = mapping;
        mapped.length = length;
        mapped.guard = std::make_unique<SigbusGuard>(mapping, length);
        if (!mapped.guard->active()) {
            error = SigbusGuard::kNoGuardLeft;
            return nullptr;
        }
        mapped.needed_file_size =
            uint64_t(plane.offset) + uint64_t(plane.stride) * (shape.height - 1) + shape.row_bytes;
        mapped.pixels = static_cast<const uint8_t *>(mapping) + (plane.offset - mapping_offset);
        mapped.stride = plane.stride;
    }
    return frame;
}

DmabufFrame::~DmabufFrame() {
    for (MappedPlane &plane : planes_) {
        plane.guard.reset();
        munmap(plane.mapping, plane.length);
    }
}

Invalid DmabufFrame::still_backed() const {
    for (size_t i = 0; i < planes_.size(); i++) {
        const MappedPlane &plane = planes_[i];
        const off_t size = lseek(plane.fd.get(), 0, SEEK_END);
        if (plane.guard->faulted() || size < 0 || uint64_t(size) < plane.needed_file_size)
            return "DMA-BUF plane " + std::to_string(i) + " shrank under the frame (it needs " +
                   std::to_string(plane.needed_file_size) + " bytes)";
    }
    return std::nullopt;
}

Invalid DmabufFrame::copy_to(PixelSurface &surface, Rect rect, PixelSurface::Change &change) const {
    if (rect.empty())
        rect = {0, 0, int32_t(width()), int32_t(height())};
    if (clip_to_surface(rect, width(), height()) != rect)
        return "damage " + describe(rect) + " is outside the " + std::to_string(width()) + "x" +
               std::to_string(height()) + " DMA-BUF";
    if (Invalid shrunk = still_backed())
        return shrunk;
    for (const MappedPlane &plane : planes_)
        sync_dmabuf(plane.fd.get(), DMA_BUF_SYNC_START);
    Invalid invalid =
        rgb_pixman_format_ ? copy_rgb(surface, rect, change) : copy_yuv(surface, rect, change);
    for (const MappedPlane &plane : planes_)
        sync_dmabuf(plane.fd.get(), DMA_BUF_SYNC_END);
    // Shrunk while being read: the guard gave zero pages instead of SIGBUS.
    return invalid ? invalid : still_backed();
}

Invalid DmabufFrame::copy_rgb(PixelSurface &surface, const Rect &rect,
                              PixelSurface::Change &change) const {
    // The visible part as its own plane; bottom-up buffers store its last row first.
    const Rect &visible = layout_.visible;
    const MappedPlane &plane = planes_[0];
    const uint32_t first_stored_row =
        layout_.bottom_up ? layout_.backing_height - uint32_t(visible.y) - uint32_t(visible.height)
                          : uint32_t(visible.y);
    const PlaneView view{plane.pixels + size_t(first_stored_row) * plane.stride +
                             size_t(visible.x) * 4,
                         width(),
                         height(),
                         plane.stride,
                         rgb_pixman_format_,
                         layout_.bottom_up};
    return copy_plane_to_surface(view, rect, surface, change);
}

Invalid DmabufFrame::copy_yuv(PixelSurface &surface, const Rect &rect,
                              PixelSurface::Change &change) const {
    change = {};
    if (surface.width() != width() || surface.height() != height())
        surface.resize(width(), height(), change);
    const Rect &visible = layout_.visible;
    const uint32_t backing_x = uint32_t(visible.x + rect.x);
    // One converted row at a time, placed at its backing column: a zero destination stride
    // makes every row land in the same buffer.
    std::vector<uint8_t> row((size_t(backing_x) + size_t(rect.width)) * 4);
    for (int32_t i = 0; i < rect.height; i++) {
        const uint32_t shown_row = uint32_t(visible.y + rect.y + i);
        const uint32_t stored_row =
            layout_.bottom_up ? layout_.backing_height - 1 - shown_row : shown_row;
        const Rect source{int32_t(backing_x), int32_t(stored_row), rect.width, 1};
        if (layout_.fourcc == drm_fourcc::nv12)
            convert_nv12_to_bgra(planes_[0].pixels, planes_[0].stride, planes_[1].pixels,
                                 planes_[1].stride, layout_.backing_width, layout_.backing_height,
                                 source, row.data(), 0);
        else
            convert_yuyv_to_bgra(planes_[0].pixels, planes_[0].stride, layout_.backing_width,
                                 layout_.backing_height, source, row.data(), 0);
        PixelSurface::Change row_change;
        const size_t row_bytes = size_t(rect.width) * 4;
        if (Invalid invalid = surface.apply_update(
                rect.x, rect.y + i, rect.width, 1, uint32_t(row_bytes), pixman_code::x8r8g8b8,
                {row.data() + size_t(backing_x) * 4, row_bytes}, row_change))
            return invalid;
        change.resized = change.resized || row_change.resized;
    }
    change.damage = change.resized ? Rect{0, 0, int32_t(width()), int32_t(height())}
                                   : bounding_box(change.damage, rect);
    return std::nullopt;
}

} // namespace vmcast::frame
