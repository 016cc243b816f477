// The buffers a console's frames are rendered into for PipeWire consumers that take DMA-BUFs.
// With GLES2 on a render node they come from the compositor's GBM allocator, in a format and
// modifier the renderer lists as renderable, so a frame is drawn straight into the memory the
// consumer imports. Pixman cannot render into DMA-BUFs, so a CPU-only compositor has none.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "common/export_dmabuf.h"

struct wlr_buffer;

namespace vmcast::compositor {

class Compositor;
class ConsoleOutput;

// Makes wlroots buffers that the compositor's renderer can draw into, for every output.
class ExportBufferFactory {
  public:
    virtual ~ExportBufferFactory() = default;
    // The modifiers the renderer can render a DRM fourcc into, in its order of preference.
    virtual std::vector<uint64_t> render_modifiers(uint32_t fourcc) const = 0;
    // A buffer with one of the modifiers (the allocator picks), or nullptr.
    virtual wlr_buffer *create(uint32_t width, uint32_t height, uint32_t fourcc,
                               std::span<const uint64_t> modifiers) = 0;
};

// The GPU one, or memfds standing in for LINEAR DMA-BUFs when VMCAST_TEST_MEMFD_DMABUFS=1
// (tests of the negotiation on machines without a GPU). nullptr when frames can only be
// exported as shared memory.
std::unique_ptr<ExportBufferFactory> create_export_buffer_factory(Compositor &compositor);

// One output's DMA-BUFs: each renders that output's frames.
class OutputExportAllocator final : public ExportDmabufAllocator {
  public:
    OutputExportAllocator(ExportBufferFactory &factory, ConsoleOutput &output)
        : factory_(factory), output_(output) {}

    std::vector<uint64_t> render_modifiers(uint32_t fourcc) const override {
        return factory_.render_modifiers(fourcc);
    }
    std::unique_ptr<ExportDmabuf> allocate(uint32_t width, uint32_t height, uint32_t fourcc,
                                           std::span<const uint64_t> modifiers) override;

  private:
    ExportBufferFactory &factory_;
    ConsoleOutput &output_;
};

} // namespace vmcast::compositor
