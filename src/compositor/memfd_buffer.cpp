#include "compositor/memfd_buffer.h"

#include <memory>

#include <glib.h>

#include "common/sealed_memfd.h"
#include "compositor/wlr.h"
#include "frame/validation.h"

namespace vmcast::compositor {
namespace {

// wlroots finds the struct from its wlr_buffer member, which therefore comes first.
struct MemfdBuffer {
    wlr_buffer base;
    MemfdBufferRole role = MemfdBufferRole::OutputShm;
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

// An output buffer answers false: its allocator claims the DMA-BUF capability only for
// screencopy's linux_dmabuf event (and wlroots insists that buffers of such an allocator have
// this function), pixman cannot draw into a DMA-BUF screencopy target, and none is handed out.
bool memfd_buffer_get_dmabuf(wlr_buffer *buffer, wlr_dmabuf_attributes *attributes) {
    MemfdBuffer *self = memfd_buffer_from(buffer);
    if (self->role != MemfdBufferRole::LinearDmabuf)
        return false;
    *attributes = {};
    attributes->width = buffer->width;
    attributes->height = buffer->height;
    attributes->format = self->fourcc;
    attributes->modifier = DRM_FORMAT_MOD_LINEAR;
    attributes->n_planes = 1;
    attributes->offset[0] = 0;
    attributes->stride[0] = self->stride;
    attributes->fd[0] = self->memory->fd();
    return true;
}

bool memfd_buffer_get_shm(wlr_buffer *buffer, wlr_shm_attributes *attributes) {
    MemfdBuffer *self = memfd_buffer_from(buffer);
    if (self->role != MemfdBufferRole::OutputShm)
        return false;
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

const wlr_buffer_impl memfd_buffer_impl = {
    .destroy = memfd_buffer_destroy,
    .get_dmabuf = memfd_buffer_get_dmabuf,
    .get_shm = memfd_buffer_get_shm,
    .begin_data_ptr_access = memfd_buffer_begin_access,
    .end_data_ptr_access = memfd_buffer_end_access,
};

} // namespace

bool memfd_buffer_supports(uint32_t fourcc) {
    return fourcc == DRM_FORMAT_XRGB8888 || fourcc == DRM_FORMAT_ARGB8888 ||
           fourcc == DRM_FORMAT_XBGR8888 || fourcc == DRM_FORMAT_ABGR8888;
}

wlr_buffer *create_memfd_buffer(MemfdBufferRole role, int width, int height, uint32_t fourcc) {
    if (width <= 0 || height <= 0 || uint32_t(width) > frame::kMaxSurfaceDimension ||
        uint32_t(height) > frame::kMaxSurfaceDimension || !memfd_buffer_supports(fourcc)) {
        g_warning("no memfd buffer of %dx%d in format 0x%08x", width, height, fourcc);
        return nullptr;
    }
    auto buffer = std::make_unique<MemfdBuffer>();
    buffer->role = role;
    buffer->fourcc = fourcc;
    buffer->stride = uint32_t(width) * 4;
    const char *name = role == MemfdBufferRole::OutputShm ? "vmcast-output" : "vmcast-export";
    buffer->memory = SealedMemfd::create(name, size_t(buffer->stride) * size_t(height));
    if (!buffer->memory) {
        g_warning("no memfd of %dx%d pixels for a buffer", width, height);
        return nullptr;
    }
    wlr_buffer_init(&buffer->base, &memfd_buffer_impl, width, height);
    return &buffer.release()->base;
}

} // namespace vmcast::compositor
