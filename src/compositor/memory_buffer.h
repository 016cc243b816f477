// wlr_buffers over pixels in memory: a console's picture (vmcast's own copy, or QEMU's shared
// memory) and cursor images, which renderers read in place (pixman) or upload (GLES2), and a
// consumer's buffer, which pixman draws into.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

#include "frame/cpu_frame.h"

struct wlr_buffer;

namespace vmcast::compositor {

// A new wlr_buffer showing the frame at its current size. The caller hands its reference to
// the scene (wlr_scene_buffer_create) and then drops it. If the frame changes size later, the
// buffer refuses access rather than reading past its end.
wlr_buffer *create_frame_buffer(std::shared_ptr<const frame::CpuFrame> frame);

// A new wlr_buffer holding a copy of a cursor image given as QEMU sends it (native-endian
// 0xAARRGGBB words, straight alpha), converted to premultiplied ARGB8888 for compositing.
wlr_buffer *create_cursor_buffer(uint32_t width, uint32_t height, std::span<const uint8_t> argb);

// A new wlr_buffer over memory that pixman draws a frame into, as XRGB8888 (B,G,R,X bytes)
// with rows stride bytes apart. The memory must outlive the buffer; the caller drops it.
wlr_buffer *create_target_buffer(uint8_t *pixels, uint32_t width, uint32_t height, size_t stride);

} // namespace vmcast::compositor
