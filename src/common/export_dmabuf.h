// DMA-BUFs that a console's frames are rendered into for PipeWire consumers, seen from the
// PipeWire side without knowing the renderer: the console's compositor output allocates them in
// a layout its renderer can draw into and renders its frames into them, and the stream hands
// their planes to consumers.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "frame/damage.h"

namespace vmcast {

struct ExportPlane {
    int fd = -1; // owned by the buffer
    uint32_t offset = 0;
    uint32_t stride = 0;
};

class ExportDmabuf {
  public:
    virtual ~ExportDmabuf() = default;
    virtual uint32_t width() const = 0;
    virtual uint32_t height() const = 0;
    virtual uint64_t modifier() const = 0;
    virtual std::span<const ExportPlane> planes() const = 0;
    // Renders the region of the output's current frame into this buffer: the GPU draws the
    // frame where the consumer reads it. False when it cannot (another size, a GPU error).
    virtual bool render(const frame::DamageRegion &region) = 0;
};

class ExportDmabufAllocator {
  public:
    virtual ~ExportDmabufAllocator() = default;
    // The modifiers the renderer can render a DRM fourcc into, in its order of preference;
    // empty when it cannot render into DMA-BUFs of that format.
    virtual std::vector<uint64_t> render_modifiers(uint32_t fourcc) const = 0;
    // A buffer with one of the modifiers (the allocator picks), or nullptr when none allocates.
    virtual std::unique_ptr<ExportDmabuf> allocate(uint32_t width, uint32_t height, uint32_t fourcc,
                                                   std::span<const uint64_t> modifiers) = 0;
};

} // namespace vmcast
