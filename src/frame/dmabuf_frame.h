// A DMA-BUF from QEMU (ScanoutDMABUF, or ScanoutDMABUF2 with several planes and a visible part
// of a larger backing buffer), mapped and read on the CPU. This is the path for renderers
// without EGL import, and it only exists for LINEAR or implicit (INVALID) modifiers, whose
// memory is plain rows.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/unique_fd.h"
#include "frame/damage.h"
#include "frame/pixel_surface.h"
#include "frame/sigbus_guard.h"
#include "frame/validation.h"

namespace vmcast::frame {

namespace drm_fourcc {
inline constexpr uint32_t xrgb8888 = 0x34325258; // XR24
inline constexpr uint32_t argb8888 = 0x34325241; // AR24
inline constexpr uint32_t xbgr8888 = 0x34324258; // XB24
inline constexpr uint32_t abgr8888 = 0x34324241; // AB24
inline constexpr uint32_t nv12 = 0x3231564e;     // NV12
inline constexpr uint32_t yuyv = 0x56595559;     // YUYV
} // namespace drm_fourcc

// LINEAR and INVALID (implicit, which QEMU uses for linear udmabufs) are plain rows the CPU
// can read; any other modifier is a GPU tiling.
bool cpu_can_read_modifier(uint64_t modifier);

struct DmabufPlane {
    UniqueFd fd;
    uint32_t offset = 0;
    uint32_t stride = 0;
};

struct DmabufLayout {
    uint32_t fourcc = 0;
    uint64_t modifier = 0;
    uint32_t backing_width = 0;
    uint32_t backing_height = 0;
    Rect visible;           // the part shown, inside the backing buffer
    bool bottom_up = false; // QEMU's y0_top: rows stored last-first
};

// Checks format, plane count, visible part and every plane against its fd, whatever the
// modifier (a tiled plane is at least as large as its rows). A one-line reason, or nullopt.
Invalid check_dmabuf(const std::vector<DmabufPlane> &planes, const DmabufLayout &layout);

class DmabufFrame {
  public:
    // Checks every plane against its fd and maps it read-only. nullptr and a one-line reason
    // in error when the format, modifier, plane count or sizes are unusable, or mapping fails.
    static std::unique_ptr<DmabufFrame> map(std::vector<DmabufPlane> planes,
                                            const DmabufLayout &layout, std::string &error);
    DmabufFrame(const DmabufFrame &) = delete;
    DmabufFrame &operator=(const DmabufFrame &) = delete;
    ~DmabufFrame();

    uint32_t width() const { return uint32_t(layout_.visible.width); }
    uint32_t height() const { return uint32_t(layout_.visible.height); }

    // Converts the rectangle of the visible part (all of it when empty) into surface, which
    // takes the visible size.
    Invalid copy_to(PixelSurface &surface, Rect rect, PixelSurface::Change &change) const;

  private:
    struct MappedPlane {
        UniqueFd fd;
        void *mapping = nullptr;
        size_t length = 0;
        // QEMU may pass any fd as a DMA-BUF, a memfd too, and shrink it under the mapping.
        std::unique_ptr<SigbusGuard> guard;
        uint64_t needed_file_size = 0;
        const uint8_t *pixels = nullptr; // the plane's first byte
        uint32_t stride = 0;
    };

    DmabufFrame() = default;
    Invalid still_backed() const;
    Invalid copy_rgb(PixelSurface &surface, const Rect &rect, PixelSurface::Change &change) const;
    Invalid copy_yuv(PixelSurface &surface, const Rect &rect, PixelSurface::Change &change) const;

    std::vector<MappedPlane> planes_;
    DmabufLayout layout_;
    uint32_t rgb_pixman_format_ = 0; // 0 for YUV formats
};

} // namespace vmcast::frame
