// One buffer of a console stream and the pixels it still lacks. Its memory is PipeWire's
// memfd (mapped by PipeWire), or, when vmcast allocates the buffers, a memfd of vmcast's own
// or a DMA-BUF that the compositor renders into.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include <pipewire/stream.h>
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

// A buffer of stream no consumer is reading, or nullptr when all of the stream's `buffers` are
// with the consumers.
pw_buffer *dequeue_unread_buffer(pw_stream *stream, size_t buffers);

// A queued buffer's Header (these flags, the time now, seq), and, where the buffer has them,
// VideoCrop (the whole width x height picture) and VideoDamage (damage).
void write_frame_metadata(spa_buffer &buffer, uint32_t header_flags, uint64_t seq, uint32_t width,
                          uint32_t height, const frame::DamageRegion &damage);

// The composited picture comes as B,G,R,X bytes. Consumers that asked for an RGB order get
// red and blue swapped, and those that asked for alpha get opaque pixels: the picture has no
// meaningful alpha.
void match_consumer_format(uint8_t *pixels, size_t stride, const frame::Rect &rect,
                           spa_video_format format);
// The same while copying rect of a B,G,R,X picture (src) into dst, the same rect of another of
// the same size.
void copy_in_consumer_format(const uint8_t *src, size_t src_stride, uint8_t *dst, size_t dst_stride,
                             const frame::Rect &rect, spa_video_format format);

} // namespace vmcast::pipewire
