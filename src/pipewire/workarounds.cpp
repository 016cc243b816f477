#include "pipewire/workarounds.h"

namespace vmcast::pipewire::workaround {

void update_formats_paused(pw_stream *stream, std::span<const spa_pod *> formats) {
    pw_stream_set_active(stream, false);
    pw_stream_update_params(stream, formats.data(), uint32_t(formats.size()));
    pw_stream_set_active(stream, true);
}

pw_stream_flags connect_flags(bool vmcast_allocates_buffers) {
    return pw_stream_flags(
        PW_STREAM_FLAG_DRIVER |
        (vmcast_allocates_buffers ? PW_STREAM_FLAG_ALLOC_BUFFERS : PW_STREAM_FLAG_MAP_BUFFERS));
}

bool SmallBuffers::renegotiate(const std::string &node, uint32_t got, uint32_t width,
                               uint32_t height, size_t needed) {
    if (tries_ < kMaxTries) {
        tries_++;
        g_info("%s: PipeWire gave a %u-byte buffer where a %ux%u frame needs %zu bytes; "
               "negotiating again",
               node.c_str(), got, width, height, needed);
        return true;
    }
    if (tries_++ == kMaxTries)
        g_warning("%s: PipeWire keeps giving %u-byte buffers where a %ux%u frame needs %zu "
                  "bytes; consumers get no picture until the size changes",
                  node.c_str(), got, width, height, needed);
    return false;
}

bool suspend_unlinked_node(ParamCacheWarmer &caches, uint32_t node_id) {
    return caches.suspend(node_id);
}

PcmFormat format_audioconvert_takes(const PcmFormat &format) {
    PcmFormat taken = format;
    if (format.kind == SampleKind::Unsigned && format.bits > 8)
        taken.kind = SampleKind::Signed;
    return taken;
}

void convert_for_audioconvert(const PcmFormat &format, std::span<uint8_t> frames) {
    if (format.kind != SampleKind::Unsigned || format.bits == 8)
        return;
    const size_t sample_bytes = format.bits / 8;
    const size_t top = format.big_endian ? 0 : sample_bytes - 1;
    for (size_t i = top; i < frames.size(); i += sample_bytes)
        frames[i] ^= 0x80;
}

} // namespace vmcast::pipewire::workaround
