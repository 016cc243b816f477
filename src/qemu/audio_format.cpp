#include "qemu/audio_format.h"

namespace vmcast::qemu {

std::optional<PcmFormat> pcm_format(const AudioInit &init, std::string &error) {
    if (init.bits != 8 && init.bits != 16 && init.bits != 32) {
        error = std::to_string(init.bits) + " bits a sample (8, 16 or 32)";
        return std::nullopt;
    }
    // QEMU's F32 also says signed.
    if (init.is_float && init.bits != 32) {
        error = "floating point samples of " + std::to_string(init.bits) + " bits (32 only)";
        return std::nullopt;
    }
    if (init.channels == 0 || init.channels > kMaxAudioChannels) {
        error = std::to_string(init.channels) + " channels (1 to " +
                std::to_string(kMaxAudioChannels) + ")";
        return std::nullopt;
    }
    if (init.rate < kMinAudioRate || init.rate > kMaxAudioRate) {
        error = "a rate of " + std::to_string(init.rate) + " Hz (" + std::to_string(kMinAudioRate) +
                " to " + std::to_string(kMaxAudioRate) + ")";
        return std::nullopt;
    }
    PcmFormat format{init.is_float    ? SampleKind::Float
                     : init.is_signed ? SampleKind::Signed
                                      : SampleKind::Unsigned,
                     init.bits, init.bits > 8 && init.big_endian, init.rate,
                     init.channels}; // one byte has no order
    if (init.bytes_per_frame != format.bytes_per_frame()) {
        error = std::to_string(init.bytes_per_frame) + " bytes a frame where " +
                std::to_string(init.channels) + " channels of " + std::to_string(init.bits) +
                " bits make " + std::to_string(format.bytes_per_frame());
        return std::nullopt;
    }
    if (uint64_t(init.bytes_per_second) != uint64_t(init.rate) * format.bytes_per_frame()) {
        error = std::to_string(init.bytes_per_second) + " bytes a second where " +
                std::to_string(init.rate) + " frames of " +
                std::to_string(format.bytes_per_frame()) + " bytes make " +
                std::to_string(uint64_t(init.rate) * format.bytes_per_frame());
        return std::nullopt;
    }
    return format;
}

} // namespace vmcast::qemu
