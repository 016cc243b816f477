// Gives dequeued buffers back to their stream only after a delay, as a consumer does whose work
// on each frame takes that long (--slow).
#pragma once

#include <time.h>

#include <algorithm>
#include <cstdint>
#include <deque>

#include <pipewire/loop.h>
#include <pipewire/stream.h>

namespace vmcast_tools {

class SlowReturns {
  public:
    SlowReturns(pw_loop *loop, uint32_t delay_ms)
        : loop_(loop), delay_ns_(uint64_t(delay_ms) * 1000000),
          timer_(pw_loop_add_timer(loop, on_timer, this)) {}
    SlowReturns(const SlowReturns &) = delete;
    SlowReturns &operator=(const SlowReturns &) = delete;
    ~SlowReturns() { pw_loop_destroy_source(loop_, timer_); }

    void give_back_later(pw_stream *stream, pw_buffer *buffer) {
        held_.push_back({stream, buffer, now_ns() + delay_ns_});
        if (held_.size() == 1)
            arm();
    }
    // PipeWire removed the buffer (a renegotiation): it must not be queued any more.
    void forget(pw_buffer *buffer) {
        std::erase_if(held_, [buffer](const Held &held) { return held.buffer == buffer; });
    }

  private:
    struct Held {
        pw_stream *stream;
        pw_buffer *buffer;
        uint64_t due_ns;
    };

    static uint64_t now_ns() {
        timespec now{};
        clock_gettime(CLOCK_MONOTONIC, &now);
        return uint64_t(now.tv_sec) * 1000000000 + uint64_t(now.tv_nsec);
    }

    void arm() {
        const uint64_t left =
            held_.empty() ? 0
                          : std::max<int64_t>(int64_t(held_.front().due_ns) - int64_t(now_ns()), 1);
        timespec value{};
        value.tv_sec = time_t(left / 1000000000);
        value.tv_nsec = long(left % 1000000000);
        pw_loop_update_timer(loop_, timer_, &value, nullptr, false); // zero disarms
    }

    static void on_timer(void *data, uint64_t) {
        auto *self = static_cast<SlowReturns *>(data);
        const uint64_t now = now_ns();
        while (!self->held_.empty() && self->held_.front().due_ns <= now) {
            pw_stream_queue_buffer(self->held_.front().stream, self->held_.front().buffer);
            self->held_.pop_front();
        }
        self->arm();
    }

    pw_loop *loop_;
    uint64_t delay_ns_;
    spa_source *timer_;
    std::deque<Held> held_;
};

} // namespace vmcast_tools
