// Paces one output's frames: a tick one frame interval after each committed frame, and no tick
// while nothing is committed. wlroots 0.15's headless outputs run a timer at their refresh rate
// forever, which costs a still screen a wakeup per refresh; ConsoleOutput parks that timer and
// is driven by this clock instead.
#pragma once

#include <cstdint>
#include <functional>

#include <glib.h>

#include "common/glib_ptr.h"

namespace vmcast::compositor {

class FrameClock {
  public:
    // rate_hz: frames a second at most; tick runs on the thread's default GLib main context.
    FrameClock(int rate_hz, std::function<void()> tick);
    FrameClock(const FrameClock &) = delete;
    FrameClock &operator=(const FrameClock &) = delete;

    // A frame went out now: tick once a frame interval from now (unless a tick is already due).
    void frame_committed();
    // At most one tick per interval_us from the next frame on (a consumer asked for fewer frames
    // than rate_hz).
    void set_interval_us(int64_t interval_us);

  private:
    static gboolean dispatch(GSource *source, GSourceFunc, gpointer);

    int64_t interval_us_;
    std::function<void()> tick_;
    GSourcePtr source_;
};

} // namespace vmcast::compositor
