#include "pipewire/stream_buffer.h"

#include <unistd.h>

#include <utility>

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

void match_consumer_format(uint8_t *pixels, size_t stride, const frame::Rect &rect,
                           spa_video_format format) {
    const bool swap_red_blue = format == SPA_VIDEO_FORMAT_RGBx || format == SPA_VIDEO_FORMAT_RGBA;
    const bool opaque = format == SPA_VIDEO_FORMAT_BGRA || format == SPA_VIDEO_FORMAT_RGBA;
    if (!swap_red_blue && !opaque)
        return;
    for (int32_t row = 0; row < rect.height; row++) {
        uint8_t *pixel = pixels + size_t(rect.y + row) * stride + size_t(rect.x) * 4;
        for (int32_t column = 0; column < rect.width; column++, pixel += 4) {
            if (swap_red_blue)
                std::swap(pixel[0], pixel[2]);
            if (opaque)
                pixel[3] = 0xff;
        }
    }
}

} // namespace vmcast::pipewire
