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
    // A ready-time source: microsecond deadlines (a g_timeout rounds to milliseconds, 62.5 Hz
    // for 60) and no new source per frame.
    static GSourceFuncs funcs = {nullptr, nullptr, &FrameClock::dispatch,
                                 nullptr, nullptr, nullptr};
    source_.reset(g_source_new(&funcs, sizeof(ClockSource)));
    reinterpret_cast<ClockSource *>(source_.get())->clock = this;
    g_source_set_name(source_.get(), "vmcast frame clock");
    g_source_attach(source_.get(), nullptr);
}

void FrameClock::frame_wanted() {
    if (g_source_get_ready_time(source_.get()) >= 0)
        return; // a tick is due already
    // A ready time not in the future makes the source ready without a poll timeout.
    g_source_set_ready_time(source_.get(),
                            std::max(g_get_monotonic_time(), last_frame_us_ + interval_us_));
}

void FrameClock::set_interval_us(int64_t interval_us) {
    interval_us_ = std::max<int64_t>(interval_us, 1);
}

gboolean FrameClock::dispatch(GSource *source, GSourceFunc, gpointer) {
    g_source_set_ready_time(source, -1);
    reinterpret_cast<ClockSource *>(source)->clock->tick_();
    return G_SOURCE_CONTINUE;
}

} // namespace vmcast::compositor
