// The VM's sound as QEMU plays it: one PCM format, checked by the QEMU side
// (qemu/audio_format.h) and published as it is by the PipeWire side.
#pragma once

#include <cstdint>
#include <string>

namespace vmcast {

enum class SampleKind { Signed, Unsigned, Float };

struct PcmFormat {
    SampleKind kind = SampleKind::Signed;
    uint8_t bits = 16; // 8, 16 or 32 (32 for Float)
    bool big_endian = false;
    uint32_t rate = 48000; // frames a second
    uint8_t channels = 2;

    uint32_t bytes_per_frame() const { return uint32_t(bits / 8) * channels; }
    bool operator==(const PcmFormat &) const = default;
};

// "S16LE 48000 Hz, 2 channels", for log lines.
inline std::string describe(const PcmFormat &format) {
    std::string text = format.kind == SampleKind::Float      ? "F"
                       : format.kind == SampleKind::Unsigned ? "U"
                                                             : "S";
    text += std::to_string(format.bits);
    if (format.bits > 8)
        text += format.big_endian ? "BE" : "LE";
    return text + " " + std::to_string(format.rate) + " Hz, " + std::to_string(format.channels) +
           (format.channels == 1 ? " channel" : " channels");
}

} // namespace vmcast
