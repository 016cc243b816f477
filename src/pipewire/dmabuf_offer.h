// The DMA-BUF side of a console stream's negotiation: which modifiers each pixel format is
// offered with, the modifier fixed for a consumer, and the modifiers dropped because
// allocating them failed.
//
// PipeWire's DMA-BUF negotiation (doc/dma-buf.dox): each format is offered with every
// modifier the renderer can render into, flagged MANDATORY|DONT_FIXATE. PipeWire then hands
// the producer a Format whose modifier is still a choice (the modifiers both sides take); the
// producer test-allocates with them, lets the allocator pick, and announces that one modifier
// as a fixed format ahead of the others, which the link then agrees on.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <utility>
#include <vector>

#include <spa/param/video/raw.h>

#include "common/export_dmabuf.h"

namespace vmcast::pipewire {

// The DRM fourcc whose bytes in memory are the SPA format's (BGRx is XRGB8888 little-endian).
uint32_t drm_fourcc_for(spa_video_format format);

struct DmabufLayout {
    spa_video_format format = SPA_VIDEO_FORMAT_UNKNOWN;
    uint64_t modifier = 0;
    uint32_t width = 0;
    uint32_t height = 0;
    uint32_t planes = 1;
};

class DmabufOffer {
  public:
    // allocator may be nullptr: then nothing is offered as a DMA-BUF.
    explicit DmabufOffer(ExportDmabufAllocator *allocator) : allocator_(allocator) {}

    // Whether the renderer can render any stream format into DMA-BUFs (then the stream
    // allocates its buffers itself).
    bool available() const;
    // The modifiers offered for format: those the renderer renders into, less those dropped.
    std::vector<uint64_t> modifiers(spa_video_format format) const;
    // Test-allocates a buffer of this size with the candidates a negotiation left (those not
    // offered are ignored) and returns the layout of the one the allocator picked. nullopt when
    // none allocates; those candidates are then dropped.
    std::optional<DmabufLayout> fixate(spa_video_format format,
                                       std::span<const uint64_t> candidates, uint32_t width,
                                       uint32_t height);
    // A buffer in exactly that layout; nullptr when it fails, and then that modifier is no
    // longer offered.
    std::unique_ptr<ExportDmabuf> allocate(const DmabufLayout &layout);

  private:
    bool dropped(spa_video_format format, uint64_t modifier) const;
    void drop(spa_video_format format, uint64_t modifier);

    ExportDmabufAllocator *allocator_;
    std::vector<std::pair<spa_video_format, uint64_t>> dropped_;
};

} // namespace vmcast::pipewire
