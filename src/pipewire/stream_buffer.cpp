#include "pipewire/stream_buffer.h"

#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include <cstring>
#include <utility>

#include <spa/buffer/meta.h>

namespace vmcast::pipewire {

bool StreamBuffer::attach_memfd(spa_data &data) {
    // Consumers map it too: a sealed size means none of them can be cut short.
    memfd_ = SealedMemfd::create("vmcast-frame", size);
    if (!memfd_)
        return false;
    pixels = memfd_->data();
    data.type = SPA_DATA_MemFd;
    data.flags = SPA_DATA_FLAG_READABLE;
    data.fd = memfd_->fd();
    data.mapoffset = 0;
    data.maxsize = uint32_t(size);
    data.data = memfd_->data();
    return true;
}

bool StreamBuffer::attach_dmabuf(spa_buffer &buffer, std::unique_ptr<ExportDmabuf> exported) {
    const auto planes = exported->planes();
    if (planes.size() > buffer.n_datas)
        return false;
    for (size_t i = 0; i < planes.size(); i++) {
        spa_data &data = buffer.datas[i];
        data.type = SPA_DATA_DmaBuf;
        data.flags = SPA_DATA_FLAG_READABLE;
        data.fd = planes[i].fd;
        data.mapoffset = 0;
        // What a consumer that maps the plane may read: all of the fd where its size is known.
        const off_t end = lseek(planes[i].fd, 0, SEEK_END);
        data.maxsize = end > 0 ? uint32_t(end) : planes[i].offset + planes[i].stride * height;
        data.data = nullptr;
    }
    dmabuf = std::move(exported);
    return true;
}

void StreamBuffer::set_chunks(spa_buffer &buffer, bool picture) const {
    const uint32_t flags = picture ? SPA_CHUNK_FLAG_NONE : SPA_CHUNK_FLAG_CORRUPTED;
    if (!dmabuf) {
        spa_chunk &chunk = *buffer.datas[0].chunk;
        chunk.offset = 0;
        chunk.stride = int32_t(width * 4);
        chunk.size = picture ? uint32_t(size) : 0;
        chunk.flags = int32_t(flags);
        return;
    }
    // Consumers that read chunk sizes take 0 for "no picture", DMA-BUFs included.
    const auto planes = dmabuf->planes();
    for (size_t i = 0; i < planes.size() && i < buffer.n_datas; i++) {
        spa_chunk &chunk = *buffer.datas[i].chunk;
        chunk.offset = planes[i].offset;
        chunk.stride = int32_t(planes[i].stride);
        chunk.size = picture ? planes[i].stride * height : 0;
        chunk.flags = int32_t(flags);
    }
}

pw_buffer *dequeue_unread_buffer(pw_stream *stream, size_t buffers) {
    // PipeWire answers EBUSY for a buffer that a consumer still reads (its Busy count) and
    // moves it to the back of the queue: one of those behind it may be free.
    for (size_t tried = 0; tried < std::max<size_t>(buffers, 1); tried++) {
        if (pw_buffer *buffer = pw_stream_dequeue_buffer(stream))
            return buffer;
        if (errno != EBUSY)
            break;
    }
    return nullptr;
}

void write_frame_metadata(spa_buffer &buffer, uint32_t header_flags, uint64_t seq, uint32_t width,
                          uint32_t height, const frame::DamageRegion &damage) {
    if (auto *header = static_cast<spa_meta_header *>(
            spa_buffer_find_meta_data(&buffer, SPA_META_Header, sizeof(spa_meta_header)))) {
        timespec now{};
        clock_gettime(CLOCK_MONOTONIC, &now);
        header->flags = header_flags;
        header->offset = 0;
        header->pts = int64_t(now.tv_sec) * 1000000000 + now.tv_nsec;
        header->dts_offset = 0;
        header->seq = seq;
    }
    // The whole frame is the picture; consumers that crop by this meta see all of it.
    if (auto *crop = static_cast<spa_meta_region *>(
            spa_buffer_find_meta_data(&buffer, SPA_META_VideoCrop, sizeof(spa_meta_region))))
        crop->region = SPA_REGION(0, 0, width, height);
    if (spa_meta *meta = spa_buffer_find_meta(&buffer, SPA_META_VideoDamage)) {
        const size_t capacity = meta->size / sizeof(spa_meta_region);
        auto *regions = static_cast<spa_meta_region *>(meta->data);
        size_t used = 0;
        if (capacity > 0) {
            for (const frame::Rect &rect : damage.rects_limited(capacity)) {
                regions[used++].region =
                    SPA_REGION(rect.x, rect.y, uint32_t(rect.width), uint32_t(rect.height));
            }
        }
        if (used < capacity)
            regions[used].region = SPA_REGION(0, 0, 0, 0);
    }
}

void match_consumer_format(uint8_t *pixels, size_t stride, const frame::Rect &rect,
                           spa_video_format format) {
    if (format != SPA_VIDEO_FORMAT_BGRx)
        copy_in_consumer_format(pixels, stride, pixels, stride, rect, format);
}

namespace {

// One pass per row; each pixel is read whole before it is written, so src may be dst.
template <bool kSwapRedBlue, bool kOpaque>
void convert_rows(const uint8_t *src, size_t src_stride, uint8_t *dst, size_t dst_stride,
                  const frame::Rect &rect) {
    for (int32_t row = 0; row < rect.height; row++) {
        const size_t offset = size_t(rect.x) * 4;
        const uint8_t *in = src + size_t(rect.y + row) * src_stride + offset;
        uint8_t *out = dst + size_t(rect.y + row) * dst_stride + offset;
        for (int32_t column = 0; column < rect.width; column++, in += 4, out += 4) {
            const uint8_t blue = in[0], green = in[1], red = in[2], x = in[3];
            out[0] = kSwapRedBlue ? red : blue;
            out[1] = green;
            out[2] = kSwapRedBlue ? blue : red;
            out[3] = kOpaque ? 0xff : x;
        }
    }
}

} // namespace

void copy_in_consumer_format(const uint8_t *src, size_t src_stride, uint8_t *dst, size_t dst_stride,
                             const frame::Rect &rect, spa_video_format format) {
    if (rect.empty())
        return;
    switch (format) {
    case SPA_VIDEO_FORMAT_BGRA:
        return convert_rows<false, true>(src, src_stride, dst, dst_stride, rect);
    case SPA_VIDEO_FORMAT_RGBx:
        return convert_rows<true, false>(src, src_stride, dst, dst_stride, rect);
    case SPA_VIDEO_FORMAT_RGBA:
        return convert_rows<true, true>(src, src_stride, dst, dst_stride, rect);
    default: // BGRx: the picture's own byte order
        if (src == dst)
            return;
        for (int32_t row = 0; row < rect.height; row++) {
            const size_t offset = size_t(rect.x) * 4;
            std::memcpy(dst + size_t(rect.y + row) * dst_stride + offset,
                        src + size_t(rect.y + row) * src_stride + offset, size_t(rect.width) * 4);
        }
    }
}

} // namespace vmcast::pipewire
