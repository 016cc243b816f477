// A console picture in shared memory that QEMU keeps drawing into (Listener.Unix.Map, QEMU
// 9.2+). The mapped pages are the frame: vmcast reads them in place, without a copy.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "common/unique_fd.h"
#include "frame/cpu_frame.h"
#include "frame/pixel_surface.h"
#include "frame/sigbus_guard.h"

namespace vmcast::frame {

class MappedFrame final : public CpuFrame {
  public:
    // Checks offset + stride * height against the fd's size and maps it read-only. nullptr and
    // a one-line reason in error when the format or sizes are unusable or mapping fails.
    static std::unique_ptr<MappedFrame> map(UniqueFd fd, uint32_t offset, uint32_t width,
                                            uint32_t height, uint32_t stride,
                                            uint32_t pixman_format, std::string &error);
    MappedFrame(const MappedFrame &) = delete;
    MappedFrame &operator=(const MappedFrame &) = delete;
    ~MappedFrame() override;

    uint32_t width() const override { return width_; }
    uint32_t height() const override { return height_; }
    uint32_t stride() const override { return stride_; }
    // 0 when the compositor cannot read this pixel format in place (24- and 16-bit formats);
    // such frames are shown through a converted copy.
    uint32_t drm_format() const override { return drm_format_; }
    const uint8_t *data() const override { return pixels_; }
    uint32_t pixman_format() const { return pixman_format_; }

    // False, with the reason, when the peer shrank the file under the mapping. Reading the
    // lost pages is safe: they read as zeros.
    bool still_backed(std::string &error);
    // Converts the rectangle (the whole frame when empty) into surface, which takes this
    // frame's size.
    Invalid copy_to(PixelSurface &surface, Rect rect, PixelSurface::Change &change) const;

  private:
    MappedFrame() = default;

    UniqueFd fd_;
    void *mapping_ = nullptr;
    size_t mapping_length_ = 0;
    std::unique_ptr<SigbusGuard> guard_;
    const uint8_t *pixels_ = nullptr;
    uint64_t needed_file_size_ = 0;
    uint32_t width_ = 0;
    uint32_t height_ = 0;
    uint32_t stride_ = 0;
    uint32_t pixman_format_ = 0;
    uint32_t drm_format_ = 0;
};

} // namespace vmcast::frame
