// A function called at a fixed rate on the default main context. Each call is due one period
// after the previous one was due, not after it ran, so the rate holds on average (a timeout of
// whole milliseconds from each call would drift: 33 ms is 30.3 Hz). A call more than a period
// late skips the ones it missed instead of running them in a burst.
#pragma once

#include <cstdint>
#include <functional>
#include <utility>

#include <glib.h>

#include "common/glib_ptr.h"

namespace vmcast {

class FixedRateTimer {
  public:
    FixedRateTimer() = default;
    // GLib holds this object's address.
    FixedRateTimer(const FixedRateTimer &) = delete;
    FixedRateTimer &operator=(const FixedRateTimer &) = delete;

    // The first call is one period from now; replaces a running schedule.
    void start(int64_t period_us, std::function<void()> tick) {
        static GSourceFuncs funcs = {
            .prepare = nullptr,
            .check = nullptr,
            .dispatch = [](GSource *, GSourceFunc callback, gpointer data) -> gboolean {
                return callback(data);
            },
            .finalize = nullptr,
            .closure_callback = nullptr,
            .closure_marshal = nullptr,
        };
        period_us_ = period_us;
        tick_ = std::move(tick);
        due_us_ = g_get_monotonic_time() + period_us_;
        source_.reset(g_source_new(&funcs, sizeof(GSource)));
        g_source_set_callback(source_.get(), on_due, this, nullptr);
        g_source_set_ready_time(source_.get(), due_us_);
        g_source_attach(source_.get(), nullptr);
    }
    void stop() { source_.reset(); }

  private:
    static gboolean on_due(gpointer data) {
        auto *timer = static_cast<FixedRateTimer *>(data);
        const int64_t now = g_get_monotonic_time();
        timer->due_us_ += timer->period_us_;
        if (timer->due_us_ <= now)
            timer->due_us_ = now + timer->period_us_;
        g_source_set_ready_time(timer->source_.get(), timer->due_us_);
        // Last: the function may stop this timer.
        timer->tick_();
        return G_SOURCE_CONTINUE;
    }

    int64_t period_us_ = 0;
    int64_t due_us_ = 0;
    std::function<void()> tick_;
    GSourcePtr source_;
};

} // namespace vmcast
