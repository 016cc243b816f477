// One buffer of a console stream and the pixels it still lacks. Its memory is PipeWire's
// memfd (mapped by PipeWire), or, when vmcast allocates the buffers, a memfd of vmcast's own
// or a DMA-BUF that the compositor renders into.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include <spa/buffer/buffer.h>
#include <spa/param/video/raw.h>

#include "common/export_dmabuf.h"
#include "common/sealed_memfd.h"
#include "frame/damage.h"

namespace vmcast::pipewire {

struct StreamBuffer {
    StreamBuffer() = default;
    StreamBuffer(const StreamBuffer &) = delete;
    StreamBuffer &operator=(const StreamBuffer &) = delete;

    uint8_t *pixels = nullptr; // shared memory to copy into; nullptr when there is none
    size_t size = 0;           // of a whole picture: stride x height
    uint32_t width = 0;
    uint32_t height = 0;
    // Everything that changed since this buffer was last filled; all of it when new.
    frame::DamageRegion stale;
    std::unique_ptr<ExportDmabuf> dmabuf; // frames are rendered into it

    // Gives data a sealed memfd of `size` bytes, mapped here for writing. False on failure.
    bool attach_memfd(spa_data &data);
    // Hands the DMA-BUF's planes to consumers through buffer's datas.
    bool attach_dmabuf(spa_buffer &buffer, std::unique_ptr<ExportDmabuf> exported);
    // The chunks of a filled buffer: a picture (size > 0), or none (size 0, CORRUPTED).
    void set_chunks(spa_buffer &buffer, bool picture) const;

  private:
    std::unique_ptr<SealedMemfd> memfd_;
};

// The composited picture comes as B,G,R,X bytes. Consumers that asked for an RGB order get
// red and blue swapped, and those that asked for alpha get opaque pixels: the picture has no
// meaningful alpha.
void match_consumer_format(uint8_t *pixels, size_t stride, const frame::Rect &rect,
                           spa_video_format format);

} // namespace vmcast::pipewire
