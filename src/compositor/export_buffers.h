// The buffers a console's frames are rendered into for PipeWire consumers that take DMA-BUFs.
// With GLES2 on a render node they come from the compositor's GBM allocator, in a format and
// modifier the renderer lists as renderable, so a frame is drawn straight into the memory the
// consumer imports. Pixman cannot render into DMA-BUFs, so a CPU-only compositor has none.
#pragma once

#include <memory>
#include <vector>

#include "common/export_dmabuf.h"

struct wlr_buffer;

namespace vmcast::compositor {

class Compositor;

// An export buffer as wlroots sees it: the renderer binds it to draw a frame.
class WlrExportDmabuf final : public ExportDmabuf {
  public:
    // Takes over the reference to buffer; nullptr (and the buffer dropped) when it offers no
    // DMA-BUF attributes.
    static std::unique_ptr<WlrExportDmabuf> adopt(wlr_buffer *buffer);
    WlrExportDmabuf(const WlrExportDmabuf &) = delete;
    WlrExportDmabuf &operator=(const WlrExportDmabuf &) = delete;
    ~WlrExportDmabuf() override;

    wlr_buffer *buffer() const { return buffer_; }
    uint32_t width() const override { return width_; }
    uint32_t height() const override { return height_; }
    uint64_t modifier() const override { return modifier_; }
    std::span<const ExportPlane> planes() const override { return planes_; }

  private:
    explicit WlrExportDmabuf(wlr_buffer *buffer) : buffer_(buffer) {}

    wlr_buffer *buffer_;
    uint32_t width_ = 0;
    uint32_t height_ = 0;
    uint64_t modifier_ = 0;
    std::vector<ExportPlane> planes_; // fds owned by buffer_
};

// The compositor's export allocator: the GPU one, or memfds standing in for LINEAR DMA-BUFs
// when VMCAST_TEST_MEMFD_DMABUFS=1 (tests of the negotiation on machines without a GPU).
// nullptr when frames can only be exported as shared memory.
std::unique_ptr<ExportDmabufAllocator> create_export_allocator(Compositor &compositor);

} // namespace vmcast::compositor
