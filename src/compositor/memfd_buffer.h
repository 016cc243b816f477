// A wlr_buffer in a sealed memfd, 4 bytes a pixel, that pixman draws into through its mapping.
// It serves two purposes, which differ only in what the buffer says it is:
// - an output's own buffer (memfd_allocator.h): shared memory, and no DMA-BUF, although its
//   allocator claims the capability;
// - a PipeWire export buffer under VMCAST_TEST_MEMFD_DMABUFS=1 (export_buffers.h): a LINEAR
//   DMA-BUF, which consumers map, for tests of the DMA-BUF path on machines without a GPU.
#pragma once

#include <cstdint>

struct wlr_buffer;

namespace vmcast::compositor {

enum class MemfdBufferRole { OutputShm, LinearDmabuf };

// Whether a memfd buffer can hold fourcc: the four 8-bit RGB orders with or without alpha.
bool memfd_buffer_supports(uint32_t fourcc);

// A buffer holding one reference (wlr_buffer_drop releases it), or nullptr with a warning.
wlr_buffer *create_memfd_buffer(MemfdBufferRole role, int width, int height, uint32_t fourcc);

} // namespace vmcast::compositor
