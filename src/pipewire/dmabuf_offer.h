// The DMA-BUF side of a console stream's negotiation: which modifiers each pixel format is
// offered with, and the modifiers dropped because allocating them failed.
//
// Every modifier offered has just been test-allocated at the stream's size, so the offer is
// MANDATORY without DONT_FIXATE and PipeWire fixes the modifier in one negotiation (gamescope's
// way). PipeWire's DONT_FIXATE round trip (the producer test-allocates the consumer's
// candidates and announces a fixed format) does not survive PipeWire 0.3.65: the fixed format
// arrives while the link still waits for the producer's answer to the unfixed one, and the
// link then allocates for the unfixed format instead of negotiating again (traced with a
// second consumer joining a shared-memory stream: it got no picture).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
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
    // Test-allocates each format's modifiers at this size; modifiers() lists those that worked.
    void probe(uint32_t width, uint32_t height);
    // The modifiers offered for format: probed, and not dropped since.
    std::vector<uint64_t> modifiers(spa_video_format format) const;
    // The layout of a probed format and modifier a consumer agreed to; nullopt if not offered.
    std::optional<DmabufLayout> layout(spa_video_format format, uint64_t modifier) const;
    // A buffer in exactly that layout; nullptr when it fails, and then that modifier is no
    // longer offered.
    std::unique_ptr<ExportDmabuf> allocate(const DmabufLayout &layout);

  private:
    ExportDmabufAllocator *allocator_;
    std::vector<DmabufLayout> probed_;
    std::vector<std::pair<spa_video_format, uint64_t>> dropped_;
};

} // namespace vmcast::pipewire
