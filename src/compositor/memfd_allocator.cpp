#include "compositor/memfd_allocator.h"

#include "compositor/memfd_buffer.h"
#include "compositor/wlr.h"

namespace vmcast::compositor {
namespace {

wlr_buffer *create_output_buffer(wlr_allocator *, int width, int height,
                                 const wlr_drm_format *format) {
    // Outputs render XRGB8888 unless told otherwise, and vmcast never tells them otherwise.
    return create_memfd_buffer(MemfdBufferRole::OutputShm, width, height, format->format);
}

void destroy_memfd_allocator(wlr_allocator *allocator) {
    delete allocator;
}

const wlr_allocator_interface memfd_allocator_impl = {
    .create_buffer = create_output_buffer,
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
