// ConsoleStream's delivery of frames: each goes into a buffer no consumer is reading, with only
// what that buffer lacks copied or rendered, and its metadata.
#include "pipewire/console_stream.h"

#include <algorithm>
#include <cerrno>
#include <string>

#include <pipewire/pipewire.h>
#include <spa/buffer/meta.h>

#include "frame/copy_stats.h"

namespace vmcast::pipewire {

void ConsoleStream::frame_ready(FrameRenderer &frame, const frame::DamageRegion &damage) {
    // Every buffer, whether with us or with a consumer, now lacks this frame's changes. A frame
    // of another size (one that waits for its size to settle) comes with damage beyond them,
    // and a return to their size with damage over all of them.
    for (const auto &slot : slots_) {
        slot->stale.add(damage);
        slot->stale.clip_to_surface(slot->width, slot->height);
    }
    if (!negotiated_ || state_ != PW_STREAM_STATE_STREAMING || frame.width() != width_ ||
        frame.height() != height_) {
        g_debug("%s: %ux%u frame not sent (%s, stream %s, offering %ux%u)",
                identity_.node_name.c_str(), frame.width(), frame.height(),
                negotiated_ ? "negotiated" : "not negotiated", pw_stream_state_as_string(state_),
                width_, height_);
        return;
    }
    pw_buffer *buffer = dequeue_free_buffer();
    if (!buffer) {
        wait_for_buffer();
        return;
    }
    fill_buffer(buffer, frame, damage);
    pw_stream_queue_buffer(stream_, buffer);
    frame::copy_stats().buffers_queued++;
    pw_stream_trigger_process(stream_);
    g_debug("%s: frame %llu queued", identity_.node_name.c_str(),
            static_cast<unsigned long long>(sequence_ - 1));
}

pw_buffer *ConsoleStream::dequeue_free_buffer() {
    pw_buffer *buffer = dequeue_unread_buffer(stream_, slots_.size());
    if (buffer) {
        if (waiting_for_buffer_since_us_) {
            g_debug("%s: a buffer came back after %lld ms", identity_.node_name.c_str(),
                    static_cast<long long>(
                        (g_get_monotonic_time() - *waiting_for_buffer_since_us_) / 1000));
        }
        waiting_for_buffer_since_us_.reset();
        retry_delay_ms_ = kFirstRetryDelayMs;
    }
    return buffer;
}

void ConsoleStream::wait_for_buffer() {
    const int64_t now = g_get_monotonic_time();
    if (!waiting_for_buffer_since_us_)
        waiting_for_buffer_since_us_ = now;
    else if (now - *waiting_for_buffer_since_us_ >= kStallLimitUs && take_buffers_back())
        return;
    schedule_retry();
}

bool ConsoleStream::take_buffers_back() {
    const std::vector<std::string> running = pipewire_.links().running_consumers(watched_node_id_);
    if (running.empty())
        return false;
    std::string consumers;
    for (const std::string &name : running)
        consumers += (consumers.empty() ? "" : ", ") + name;
    const double seconds =
        double(g_get_monotonic_time() - *waiting_for_buffer_since_us_) / G_USEC_PER_SEC;
    // A consumer whose stream runs but which no longer reads its buffers keeps each one it
    // gets. The new set frees the others at least until it has taken those too.
    if (consumers != stalled_consumers_) {
        g_warning("%s: the consumers kept every buffer for %.1f s while running (%s); taking "
                  "the buffers back by renegotiating. One of them has stopped reading frames: "
                  "GStreamer's pipewiresrc before PipeWire 0.3.84 stops for good when the "
                  "console's size changes; restart it",
                  identity_.node_name.c_str(), seconds, consumers.c_str());
        stalled_consumers_ = consumers;
    } else {
        g_info("%s: the consumers kept every buffer for %.1f s again (%s); taking them back",
               identity_.node_name.c_str(), seconds, consumers.c_str());
    }
    waiting_for_buffer_since_us_.reset();
    retry_timer_.reset();
    retry_delay_ms_ = kFirstRetryDelayMs;
    schedule_renegotiation();
    return true;
}

void ConsoleStream::schedule_retry() {
    if (retry_timer_)
        return;
    g_debug("%s: every buffer is with the consumers; retrying in %u ms",
            identity_.node_name.c_str(), retry_delay_ms_);
    // The changes wait in the buffers' stale regions; a later render delivers them, so the
    // consumer ends up with the final picture even if the screen stops changing.
    retry_timer_ = attach_timeout(
        retry_delay_ms_,
        [](gpointer data) -> gboolean {
            auto *stream = static_cast<ConsoleStream *>(data);
            stream->retry_timer_.reset();
            stream->retry_delay_ms_ = std::min(stream->retry_delay_ms_ * 2, kMaxRetryDelayMs);
            stream->frames_.request_frame(FrameRequest::BufferFree);
            return G_SOURCE_REMOVE;
        },
        this);
}

void ConsoleStream::cursor_changed(bool image_changed) {
    if (image_changed)
        cursor_meta_.image_changed(cursor_);
    if (!cursor_as_meta_ || !negotiated_ || state_ != PW_STREAM_STATE_STREAMING)
        return;
    // Without a free buffer the next frame carries the cursor; on a still screen the retry
    // asks for that frame, so the pointer's last position goes out too.
    pw_buffer *buffer = dequeue_free_buffer();
    if (!buffer) {
        wait_for_buffer();
        return;
    }
    static_cast<const StreamBuffer *>(buffer->user_data)->set_chunks(*buffer->buffer, false);
    fill_metadata(*buffer->buffer, frame::DamageRegion(), false);
    pw_stream_queue_buffer(stream_, buffer);
    pw_stream_trigger_process(stream_);
}

void ConsoleStream::fill_buffer(pw_buffer *buffer, FrameRenderer &frame,
                                const frame::DamageRegion &damage) {
    auto *target = static_cast<StreamBuffer *>(buffer->user_data);
    const size_t stride = size_t(width_) * 4;
    bool usable = target->width == width_ && target->height == height_;
    if (usable && target->dmabuf) {
        // The renderer draws in the buffer's own byte order: nothing to convert.
        usable = target->dmabuf->render(target->stale);
        if (usable)
            target->stale.clear();
    } else if (usable && target->pixels) {
        // Composited straight into the consumer's memory: the output keeps no picture of its own.
        usable = frame.render(target->stale, target->pixels, stride);
        if (usable) {
            for (const frame::Rect &rect : target->stale.rects())
                match_consumer_format(target->pixels, stride, rect, negotiated_->format);
            target->stale.clear();
        }
    } else {
        usable = false;
    }
    target->set_chunks(*buffer->buffer, usable);
    fill_metadata(*buffer->buffer, damage, usable);
}

void ConsoleStream::fill_metadata(spa_buffer &buffer, const frame::DamageRegion &damage,
                                  bool picture) {
    // A cursor-only buffer is no picture, but nothing in it is broken either: consumers drop
    // whole buffers whose header says CORRUPTED, cursor included.
    const bool cursor_only = !picture && buffer.datas[0].chunk->size == 0 && cursor_as_meta_;
    write_frame_metadata(buffer, picture || cursor_only ? 0 : SPA_META_HEADER_FLAG_CORRUPTED,
                         sequence_++, width_, height_, damage);
    if (cursor_as_meta_)
        cursor_meta_.write(cursor_, buffer);
}

} // namespace vmcast::pipewire
