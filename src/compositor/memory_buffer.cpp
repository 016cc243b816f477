#include "compositor/memory_buffer.h"

#include <cstring>
#include <vector>

#include "compositor/wlr.h"

namespace vmcast::compositor {
namespace {

// wlroots finds our struct from its wlr_buffer, which therefore comes first.
struct FrameBuffer {
    wlr_buffer base;
    std::shared_ptr<const frame::CpuFrame> frame;
};

FrameBuffer *frame_buffer_from(wlr_buffer *buffer) {
    return reinterpret_cast<FrameBuffer *>(buffer);
}

void frame_buffer_destroy(wlr_buffer *buffer) {
    delete frame_buffer_from(buffer);
}

bool frame_buffer_begin_access(wlr_buffer *buffer, uint32_t flags, void **data, uint32_t *format,
                               size_t *stride) {
    const frame::CpuFrame &frame = *frame_buffer_from(buffer)->frame;
    if ((flags & WLR_BUFFER_DATA_PTR_ACCESS_WRITE) || frame.empty() ||
        int(frame.width()) != buffer->width || int(frame.height()) != buffer->height)
        return false;
    *data = const_cast<uint8_t *>(frame.data());
    *format = frame.drm_format();
    *stride = frame.stride();
    return true;
}

void end_access(wlr_buffer *) {}

const wlr_buffer_impl frame_buffer_impl = {
    .destroy = frame_buffer_destroy,
    .get_dmabuf = nullptr,
    .get_shm = nullptr,
    .begin_data_ptr_access = frame_buffer_begin_access,
    .end_data_ptr_access = end_access,
};

struct CursorBuffer {
    wlr_buffer base;
    std::vector<uint8_t> pixels; // premultiplied ARGB8888, tight stride
};

CursorBuffer *cursor_buffer_from(wlr_buffer *buffer) {
    return reinterpret_cast<CursorBuffer *>(buffer);
}

void cursor_buffer_destroy(wlr_buffer *buffer) {
    delete cursor_buffer_from(buffer);
}

bool cursor_buffer_begin_access(wlr_buffer *buffer, uint32_t flags, void **data, uint32_t *format,
                                size_t *stride) {
    if (flags & WLR_BUFFER_DATA_PTR_ACCESS_WRITE)
        return false;
    CursorBuffer *self = cursor_buffer_from(buffer);
    *data = self->pixels.data();
    *format = DRM_FORMAT_ARGB8888;
    *stride = size_t(buffer->width) * 4;
    return true;
}

const wlr_buffer_impl cursor_buffer_impl = {
    .destroy = cursor_buffer_destroy,
    .get_dmabuf = nullptr,
    .get_shm = nullptr,
    .begin_data_ptr_access = cursor_buffer_begin_access,
    .end_data_ptr_access = end_access,
};

struct TargetBuffer {
    wlr_buffer base;
    uint8_t *pixels;
    size_t stride;
};

TargetBuffer *target_buffer_from(wlr_buffer *buffer) {
    return reinterpret_cast<TargetBuffer *>(buffer);
}

void target_buffer_destroy(wlr_buffer *buffer) {
    delete target_buffer_from(buffer);
}

bool target_buffer_begin_access(wlr_buffer *buffer, uint32_t, void **data, uint32_t *format,
                                size_t *stride) {
    TargetBuffer *self = target_buffer_from(buffer);
    *data = self->pixels;
    *format = DRM_FORMAT_XRGB8888;
    *stride = self->stride;
    return true;
}

const wlr_buffer_impl target_buffer_impl = {
    .destroy = target_buffer_destroy,
    .get_dmabuf = nullptr,
    .get_shm = nullptr,
    .begin_data_ptr_access = target_buffer_begin_access,
    .end_data_ptr_access = end_access,
};

} // namespace

wlr_buffer *create_frame_buffer(std::shared_ptr<const frame::CpuFrame> frame) {
    auto *buffer = new FrameBuffer{};
    const int width = int(frame->width());
    const int height = int(frame->height());
    buffer->frame = std::move(frame);
    wlr_buffer_init(&buffer->base, &frame_buffer_impl, width, height);
    return &buffer->base;
}

wlr_buffer *create_cursor_buffer(uint32_t width, uint32_t height, std::span<const uint8_t> argb) {
    auto *buffer = new CursorBuffer{};
    const size_t pixel_count = size_t(width) * height;
    buffer->pixels.resize(pixel_count * 4);
    // QEMU's cursor alpha is straight (usually 0 or 255, but colour bits may be set under
    // alpha 0); pixman composites premultiplied pixels.
    for (size_t i = 0; i < pixel_count; i++) {
        uint32_t word;
        std::memcpy(&word, argb.data() + i * 4, 4);
        const uint32_t alpha = word >> 24;
        const auto premultiply = [alpha](uint32_t channel) {
            return (channel * alpha + 127) / 255;
        };
        const uint32_t red = premultiply((word >> 16) & 0xff);
        const uint32_t green = premultiply((word >> 8) & 0xff);
        const uint32_t blue = premultiply(word & 0xff);
        const uint32_t out = alpha << 24 | red << 16 | green << 8 | blue;
        std::memcpy(buffer->pixels.data() + i * 4, &out, 4);
    }
    wlr_buffer_init(&buffer->base, &cursor_buffer_impl, int(width), int(height));
    return &buffer->base;
}

wlr_buffer *create_target_buffer(uint8_t *pixels, uint32_t width, uint32_t height, size_t stride) {
    auto *buffer = new TargetBuffer{{}, pixels, stride};
    wlr_buffer_init(&buffer->base, &target_buffer_impl, int(width), int(height));
    return &buffer->base;
}

} // namespace vmcast::compositor
