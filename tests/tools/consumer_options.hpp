// Command line of vmcast-frame-consumer.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace vmcast_tools {

inline constexpr int kExitOk = 0;
inline constexpr int kExitTimeout = 1;
inline constexpr int kExitError = 2;

// Top-left pixel of the 4-pixel sequence stamp a benchmark peer draws into its pictures.
struct StampPosition {
    uint32_t x = 0;
    uint32_t y = 0;
};

struct Options {
    std::string target;
    std::string format_text = "any";
    std::vector<uint32_t> formats; // SPA video formats to offer, preferred first
    std::string dump_path;         // empty: no dump
    uint64_t wanted_pictures = 0;  // 0: run until timeout or signal
    double timeout_seconds = 0;    // 0: no timeout
    bool cursor_meta = true;
    bool hold_buffers = false;
    uint32_t slow_ms = 0; // --slow: each buffer goes back this long after it came
    // --stop-reading-after: after this many pictures no buffer is dequeued any more, while the
    // stream stays linked and running (GStreamer's pipewiresrc before PipeWire 0.3.84 after a
    // pause of its stream).
    std::optional<uint64_t> stop_reading_after;
    bool dmabuf_first = false;
    // Offered with DONT_FIXATE in the DMA-BUF variant (--modifiers): LINEAR and implicit.
    std::vector<uint64_t> modifiers = {0x0 /* LINEAR */, 0x00ffffffffffffffULL /* INVALID */};
    uint32_t max_framerate = 0;            // 0: no maxFramerate in the EnumFormats
    std::optional<StampPosition> stamp_at; // --stamp-at: read the stamp and time every frame
    bool quiet_frames = false;             // compact frame lines for high frame rates
};

// Parses argv; on a usage error prints an "error" JSON line and exits with kExitError.
Options parse_options(int argc, char **argv);

} // namespace vmcast_tools
