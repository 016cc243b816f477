#include "compositor/frame_clock.h"

#include <algorithm>
#include <utility>

namespace vmcast::compositor {
namespace {

struct ClockSource {
    GSource base;
    FrameClock *clock;
};

} // namespace

FrameClock::FrameClock(int rate_hz, std::function<void()> tick)
    : interval_us_(G_USEC_PER_SEC / std::max(rate_hz, 1)), tick_(std::move(tick)) {
    // A source whose prepare reads the due time: a frame wanted while the main loop runs
    // (always, on its one thread) is seen before the loop polls again. A ready time or a new
    // timeout would signal the loop's eventfd each time, a write and a read per frame.
    static GSourceFuncs funcs = {
        &FrameClock::prepare, &FrameClock::check, &FrameClock::dispatch, nullptr, nullptr, nullptr};
    source_.reset(g_source_new(&funcs, sizeof(ClockSource)));
    reinterpret_cast<ClockSource *>(source_.get())->clock = this;
    g_source_set_name(source_.get(), "vmcast frame clock");
    g_source_attach(source_.get(), nullptr);
}

void FrameClock::frame_wanted() {
    if (due_us_)
        return; // a tick is due already
    due_us_ = std::max(g_get_monotonic_time(), last_frame_us_ + interval_us_);
}

void FrameClock::set_interval_us(int64_t interval_us) {
    interval_us_ = std::max<int64_t>(interval_us, 1);
}

gboolean FrameClock::prepare(GSource *source, gint *timeout_ms) {
    const FrameClock &clock = *reinterpret_cast<ClockSource *>(source)->clock;
    if (!clock.due_us_) {
        *timeout_ms = -1;
        return FALSE;
    }
    const int64_t wait_us = *clock.due_us_ - g_source_get_time(source);
    // Rounded up: a tick is never early, and never more than a millisecond late (GLib polls
    // in milliseconds).
    *timeout_ms = wait_us > 0 ? gint((wait_us + 999) / 1000) : 0;
    return wait_us <= 0;
}

gboolean FrameClock::check(GSource *source) {
    const FrameClock &clock = *reinterpret_cast<ClockSource *>(source)->clock;
    return clock.due_us_ && *clock.due_us_ <= g_source_get_time(source);
}

gboolean FrameClock::dispatch(GSource *source, GSourceFunc, gpointer) {
    FrameClock &clock = *reinterpret_cast<ClockSource *>(source)->clock;
    clock.due_us_.reset();
    clock.tick_();
    return G_SOURCE_CONTINUE;
}

} // namespace vmcast::compositor
