// A token bucket: at most `burst` events at once and `per_second` on average. Floods from a page
// are dropped here before they cost a D-Bus call each.
#pragma once

#include <glib.h>

#include <algorithm>
#include <cstdint>

namespace vmcast::web {

class RateLimiter {
  public:
    RateLimiter(double per_second, double burst)
        : per_second_(per_second), burst_(burst), tokens_(burst) {}

    // Whether one more event is allowed now (and counts it).
    bool allow() { return allow_at(g_get_monotonic_time()); }
    bool allow_at(int64_t now_us) {
        if (last_us_ != 0)
            tokens_ = std::min(burst_, tokens_ + double(now_us - last_us_) * per_second_ / 1e6);
        last_us_ = now_us;
        if (tokens_ < 1.0) {
            ++dropped_;
            return false;
        }
        tokens_ -= 1.0;
        return true;
    }
    uint64_t dropped() const { return dropped_; }

  private:
    double per_second_;
    double burst_;
    double tokens_;
    int64_t last_us_ = 0;
    uint64_t dropped_ = 0;
};

} // namespace vmcast::web
