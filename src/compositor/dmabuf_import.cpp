#include "compositor/dmabuf_import.h"

#include <sys/stat.h>
#include <unistd.h>

#include <glib.h>

#include "compositor/wlr.h"

namespace vmcast::compositor {
namespace {

// wlroots finds our struct from its wlr_buffer, which therefore comes first.
struct DmabufBuffer {
    wlr_buffer base;
    wlr_dmabuf_attributes attributes;
};

void dmabuf_buffer_destroy(wlr_buffer *buffer) {
    auto *self = reinterpret_cast<DmabufBuffer *>(buffer);
    wlr_dmabuf_attributes_finish(&self->attributes);
    delete self;
}

bool dmabuf_buffer_get_dmabuf(wlr_buffer *buffer, wlr_dmabuf_attributes *attributes) {
    // Borrowed: the fds stay ours until the buffer is destroyed.
    *attributes = reinterpret_cast<DmabufBuffer *>(buffer)->attributes;
    return true;
}

const wlr_buffer_impl dmabuf_buffer_impl = {
    .destroy = dmabuf_buffer_destroy,
    .get_dmabuf = dmabuf_buffer_get_dmabuf,
    .get_shm = nullptr,
    .begin_data_ptr_access = nullptr,
    .end_data_ptr_access = nullptr,
};

} // namespace

bool fill_dmabuf_attributes(const std::vector<frame::DmabufPlane> &planes,
                            const frame::DmabufLayout &layout, wlr_dmabuf_attributes &attributes) {
    attributes = {};
    attributes.width = int32_t(layout.backing_width);
    attributes.height = int32_t(layout.backing_height);
    attributes.format = layout.fourcc;
    // wlroots leaves the modifier out of the EGL attributes when it is INVALID (implicit).
    attributes.modifier = layout.modifier;
    for (size_t i = 0; i < planes.size() && i < WLR_DMABUF_MAX_PLANES; i++) {
        attributes.fd[i] = dup(planes[i].fd.get());
        if (attributes.fd[i] < 0) {
            wlr_dmabuf_attributes_finish(&attributes);
            return false;
        }
        attributes.offset[i] = planes[i].offset;
        attributes.stride[i] = planes[i].stride;
        attributes.n_planes = int(i + 1);
    }
    return true;
}

DmabufImports::~DmabufImports() {
    for (Entry &entry : entries_)
        wlr_buffer_drop(entry.buffer);
}

wlr_buffer *DmabufImports::import(const std::vector<frame::DmabufPlane> &planes,
                                  const frame::DmabufLayout &layout) {
    // The same DMA-BUF comes back as a new fd each time; its inode says it is the same.
    Identity identity{{},
                      {},
                      {},
                      {},
                      layout.fourcc,
                      layout.modifier,
                      layout.backing_width,
                      layout.backing_height};
    for (const frame::DmabufPlane &plane : planes) {
        struct stat file {};
        if (fstat(plane.fd.get(), &file) < 0)
            return nullptr;
        identity.inodes.push_back(file.st_ino);
        identity.devices.push_back(file.st_dev);
        identity.offsets.push_back(plane.offset);
        identity.strides.push_back(plane.stride);
    }
    for (auto entry = entries_.begin(); entry != entries_.end(); ++entry) {
        if (entry->identity == identity) {
            Entry found = *entry;
            entries_.erase(entry);
            entries_.push_back(found);
            return found.buffer;
        }
    }

    auto *buffer = new DmabufBuffer{};
    if (!fill_dmabuf_attributes(planes, layout, buffer->attributes)) {
        delete buffer;
        return nullptr;
    }
    wlr_buffer_init(&buffer->base, &dmabuf_buffer_impl, int(layout.backing_width),
                    int(layout.backing_height));
    // Importing now tells whether the GPU takes this buffer; the EGL image stays attached to
    // the wlr_buffer for every later use.
    wlr_texture *texture = wlr_texture_from_buffer(renderer_, &buffer->base);
    if (!texture) {
        g_debug("the renderer cannot import a %ux%u DMA-BUF (fourcc 0x%08x, modifier 0x%llx)",
                layout.backing_width, layout.backing_height, layout.fourcc,
                static_cast<unsigned long long>(layout.modifier));
        wlr_buffer_drop(&buffer->base);
        return nullptr;
    }
    wlr_texture_destroy(texture);
    if (entries_.size() == kMaxCachedImports) {
        wlr_buffer_drop(entries_.front().buffer);
        entries_.erase(entries_.begin());
    }
    entries_.push_back({std::move(identity), &buffer->base});
    return &buffer->base;
}

} // namespace vmcast::compositor
