// Checks the PCM format QEMU announces with AudioOutListener.Init. QEMU's mixing engine has
// U8, S8, U16, S16, U32, S32 and F32 in either byte order (audio/audio.c
// audio_pcm_init_info); anything else, or sizes that disagree with each other, is refused.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "common/pcm_format.h"

namespace vmcast::qemu {

// Init's arguments as QEMU sends them, unchecked.
struct AudioInit {
    uint8_t bits;
    bool is_signed;
    bool is_float;
    uint32_t rate;
    uint8_t channels;
    uint32_t bytes_per_frame;
    uint32_t bytes_per_second;
    bool big_endian;
};

inline constexpr uint32_t kMinAudioRate = 1000;
inline constexpr uint32_t kMaxAudioRate = 384000;
inline constexpr uint8_t kMaxAudioChannels = 8;

// The format, or nullopt and a one-line reason in error.
std::optional<PcmFormat> pcm_format(const AudioInit &init, std::string &error);

} // namespace vmcast::qemu
