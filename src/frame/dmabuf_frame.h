// A single-plane DMA-BUF from QEMU (ScanoutDMABUF), mapped and read on the CPU. This is the
// path for renderers without EGL import, and it only exists for LINEAR or implicit (INVALID)
// modifiers, whose memory layout is plain rows.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "common/unique_fd.h"
#include "frame/damage.h"
#include "frame/pixel_surface.h"
#include "frame/validation.h"

namespace vmcast::frame {

class DmabufFrame {
  public:
    // Checks the arguments against the fd and maps it read-only. nullptr and a one-line reason
    // in error when the format, modifier or sizes are unusable or the fd cannot be mapped.
    static std::unique_ptr<DmabufFrame> map(UniqueFd fd, uint32_t width, uint32_t height,
                                            uint32_t stride, uint32_t fourcc, uint64_t modifier,
                                            bool y0_top, std::string &error);
    DmabufFrame(const DmabufFrame &) = delete;
    DmabufFrame &operator=(const DmabufFrame &) = delete;
    ~DmabufFrame();

    // Copies the rectangle (the whole buffer when empty) into the surface, flipping rows when
    // the buffer is stored bottom-up. The surface takes the buffer's size.
    Invalid copy_to(PixelSurface &surface, Rect rect, PixelSurface::Change &change) const;

  private:
    DmabufFrame() = default;

    UniqueFd fd_;
    const uint8_t *pixels_ = nullptr;
    size_t mapped_size_ = 0;
    uint32_t width_ = 0;
    uint32_t height_ = 0;
    uint32_t stride_ = 0;
    uint32_t pixman_format_ = 0;
    bool bottom_up_ = false;
};

} // namespace vmcast::frame
