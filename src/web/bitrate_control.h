// The bitrate one viewer's network seems to carry, from the loss in its RTCP receiver reports.
// Loss-based control as RFC 3550 senders without a delay-based estimator do it (Debian 12 has
// no rtpgccbwe): back off quickly on loss, probe upwards slowly without it.
#pragma once

#include <algorithm>
#include <cstdint>

namespace vmcast::web {

inline constexpr uint32_t kMinBitrateKbps = 300;

// The next estimate after a report of fraction_lost (0 to 1), within [kMinBitrateKbps, ceiling]
// (ceiling: --web-bitrate, where the encoder started; an estimate above it would only delay the
// next back-off).
inline uint32_t next_bitrate_estimate(uint32_t estimate_kbps, double fraction_lost,
                                      uint32_t ceiling_kbps) {
    uint32_t estimate = estimate_kbps;
    if (fraction_lost > 0.10)
        estimate = uint32_t(estimate * (1.0 - std::min(fraction_lost, 1.0) / 2));
    else if (fraction_lost < 0.02)
        estimate = uint32_t(estimate * 1.05) + 1;
    return std::clamp(estimate, std::min(kMinBitrateKbps, ceiling_kbps), ceiling_kbps);
}

} // namespace vmcast::web
