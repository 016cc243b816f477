// How a console's frames reach its stream. The compositor output that composites them is the
// FrameSource: the stream asks it for a whole frame, for the pointer to be drawn in or not, for
// a pace, and for DMA-BUFs to render into. The stream is the FrameSink: each new frame, which
// the source draws into the stream's buffer, and each new size go to it.
#pragma once

#include <cstdint>

#include "common/export_dmabuf.h"
#include "common/frame_renderer.h"
#include "frame/damage.h"

namespace vmcast {

// Why a stream wants the whole picture again.
enum class FrameRequest {
    StreamRunning, // the stream started, or runs again after a pause
    NewBuffers,    // a format was agreed: the new buffers hold nothing yet
    NewConsumer,   // a consumer's node runs: its first picture (and two repeats, see workarounds)
    BufferFree,    // frames found every buffer busy; one may be free now
    Viewer,        // a page's viewer wants a fresh keyframe of a still screen
};

const char *frame_request_name(FrameRequest request);

class FrameSource {
  public:
    virtual ~FrameSource() = default;
    // Composites and hands over the whole picture soon, even if nothing changed.
    virtual void request_frame(FrameRequest why) = 0;
    // Whether the pointer is drawn into the frames (not when consumers take it as metadata).
    virtual void set_cursor_drawn(bool drawn) = 0;
    // The shortest time between two frames, from the next one on.
    virtual void set_frame_interval_us(int64_t interval_us) = 0;
    // Makes the DMA-BUFs frames are rendered into; nullptr when frames go out only as shared
    // memory. Its buffers render this source's frames.
    virtual ExportDmabufAllocator *export_allocator() = 0;
};

class FrameSink {
  public:
    virtual ~FrameSink() = default;
    // A new frame; damage says what changed since the previous one. The frame can be drawn
    // through `frame` only during the call.
    virtual void frame_ready(FrameRenderer &frame, const frame::DamageRegion &damage) = 0;
    // The frames have a new size from now on.
    virtual void size_changed(uint32_t width, uint32_t height) = 0;
};

inline const char *frame_request_name(FrameRequest request) {
    switch (request) {
    case FrameRequest::StreamRunning:
        return "the stream runs";
    case FrameRequest::NewBuffers:
        return "new buffers";
    case FrameRequest::NewConsumer:
        return "a new consumer";
    case FrameRequest::BufferFree:
        return "a buffer may be free";
    case FrameRequest::Viewer:
        return "a viewer";
    }
    return "unknown";
}

} // namespace vmcast
