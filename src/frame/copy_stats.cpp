#include "frame/copy_stats.h"

#include <cstdio>

namespace vmcast::frame {
namespace {

std::string mebibytes(uint64_t bytes) {
    char text[32];
    std::snprintf(text, sizeof text, "%.3f MiB", double(bytes) / (1024.0 * 1024.0));
    return text;
}

} // namespace

CopyStats &copy_stats() {
    static CopyStats stats;
    return stats;
}

std::string CopyStats::summary() const {
    return mebibytes(copied_bytes()) + " copied for " + mebibytes(damaged_bytes) +
           " of damage (converted " + mebibytes(converted_bytes) + ", composited " +
           mebibytes(composited_bytes) + ", exported " + mebibytes(exported_bytes) + "), " +
           std::to_string(buffers_queued) + " buffers queued; cameras: " + mebibytes(camera_bytes) +
           " copied, " + std::to_string(camera_buffers_queued) + " buffers queued";
}

} // namespace vmcast::frame
