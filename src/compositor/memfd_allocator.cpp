#include "compositor/memfd_allocator.h"

#include <memory>

#include <glib.h>

#include "common/sealed_memfd.h"
#include "compositor/wlr.h"

namespace vmcast::compositor {
namespace {

// wlroots finds our structs from their wlr_* member, which therefore comes first.
struct MemfdBuffer {
    wlr_buffer base;
    std::unique_ptr<SealedMemfd> memory;
    uint32_t fourcc = 0;
    uint32_t stride = 0;
};

MemfdBuffer *memfd_buffer_from(wlr_buffer *buffer) {
    return reinterpret_cast<MemfdBuffer *>(buffer);
}

void memfd_buffer_destroy(wlr_buffer *buffer) {
    delete memfd_buffer_from(buffer);
}

bool memfd_buffer_get_shm(wlr_buffer *buffer, wlr_shm_attributes *attributes) {
    MemfdBuffer *self = memfd_buffer_from(buffer);
    *attributes = {};
    attributes->fd = self->memory->fd();
    attributes->format = self->fourcc;
    attributes->width = buffer->width;
    attributes->height = buffer->height;
    attributes->stride = int(self->stride);
    attributes->offset = 0;
    return true;
}

bool memfd_buffer_begin_access(wlr_buffer *buffer, uint32_t, void **data, uint32_t *format,
                               size_t *stride) {
    MemfdBuffer *self = memfd_buffer_from(buffer);
    *data = self->memory->data();
    *format = self->fourcc;
    *stride = self->stride;
    return true;
}

void memfd_buffer_end_access(wlr_buffer *) {}

// The capability is claimed for the linux_dmabuf event alone (and wlroots insists that buffers
// of such an allocator have this function): pixman cannot draw into a DMA-BUF screencopy
// target, and none is ever handed out.
bool memfd_buffer_get_dmabuf(wlr_buffer *, wlr_dmabuf_attributes *) {
    return false;
}

const wlr_buffer_impl memfd_buffer_impl = {
    .destroy = memfd_buffer_destroy,
    .get_dmabuf = memfd_buffer_get_dmabuf,
    .get_shm = memfd_buffer_get_shm,
    .begin_data_ptr_access = memfd_buffer_begin_access,
    .end_data_ptr_access = memfd_buffer_end_access,
};

bool is_four_byte_rgb(uint32_t fourcc) {
    return fourcc == DRM_FORMAT_XRGB8888 || fourcc == DRM_FORMAT_ARGB8888 ||
           fourcc == DRM_FORMAT_XBGR8888 || fourcc == DRM_FORMAT_ABGR8888;
}

wlr_buffer *create_memfd_buffer(wlr_allocator *, int width, int height,
                                const wlr_drm_format *format) {
    // Outputs render XRGB8888 unless told otherwise, and vmcast never tells them otherwise.
    if (width <= 0 || height <= 0 || !is_four_byte_rgb(format->format)) {
        g_warning("no output buffer of %dx%d in format 0x%08x", width, height, format->format);
        return nullptr;
    }
    auto buffer = std::make_unique<MemfdBuffer>();
    buffer->fourcc = format->format;
    buffer->stride = uint32_t(width) * 4;
    buffer->memory = SealedMemfd::create("vmcast-output", size_t(buffer->stride) * height);
    if (!buffer->memory)
        return nullptr;
    wlr_buffer_init(&buffer->base, &memfd_buffer_impl, width, height);
    return &buffer.release()->base;
}

void destroy_memfd_allocator(wlr_allocator *allocator) {
    delete allocator;
}

const wlr_allocator_interface memfd_allocator_impl = {
    .create_buffer = create_memfd_buffer,
    .destroy = destroy_memfd_allocator,
};

} // namespace

wlr_allocator *create_memfd_allocator() {
    auto *allocator = new wlr_allocator{};
    wlr_allocator_init(allocator, &memfd_allocator_impl,
                       WLR_BUFFER_CAP_DATA_PTR | WLR_BUFFER_CAP_SHM | WLR_BUFFER_CAP_DMABUF);
    return allocator;
}

} // namespace vmcast::compositor
