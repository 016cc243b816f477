// Paces one output's frames: a frame that is wanted goes out at once when the last one went out
// at least a frame interval ago, else when it has; nothing ticks while no frame is wanted.
// wlroots 0.15's headless outputs run a timer at their refresh rate forever, which costs a still
// screen a wakeup per refresh; ConsoleOutput parks that timer and is driven by this clock.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>

#include <glib.h>

#include "common/glib_ptr.h"

namespace vmcast::compositor {

class FrameClock {
  public:
    // rate_hz: frames a second at most; tick runs on the thread's default GLib main context.
    FrameClock(int rate_hz, std::function<void()> tick);
    FrameClock(const FrameClock &) = delete;
    FrameClock &operator=(const FrameClock &) = delete;

    // A frame went out now.
    void frame_sent() { last_frame_us_ = g_get_monotonic_time(); }
    // Something changed: tick as soon as the interval since the last frame allows, in this pass
    // of the main loop when it already does (no timer, no wakeup of its own).
    void frame_wanted();
    // At most one tick per interval_us from the next frame on (a consumer asked for fewer frames
    // than rate_hz).
    void set_interval_us(int64_t interval_us);

  private:
    static gboolean prepare(GSource *source, gint *timeout_ms);
    static gboolean check(GSource *source);
    static gboolean dispatch(GSource *source, GSourceFunc, gpointer);

    int64_t interval_us_;
    int64_t last_frame_us_ = 0;
    std::optional<int64_t> due_us_; // when the next tick is due; none while no frame is wanted
    std::function<void()> tick_;
    GSourcePtr source_;
};

} // namespace vmcast::compositor
