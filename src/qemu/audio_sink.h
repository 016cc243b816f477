// What the audio listener tells the rest of vmcast. Arguments are already validated.
#pragma once

#include <cstdint>
#include <span>

#include "common/pcm_format.h"

namespace vmcast::qemu {

class AudioSink {
  public:
    virtual ~AudioSink() = default;
    // The VM plays sound in this format from now on (a new stream, or another format).
    virtual void audio_started(const PcmFormat &format) = 0;
    // Whole frames in the format last started.
    virtual void audio_samples(std::span<const uint8_t> frames) = 0;
    // The guest's volume, per channel from 0 to 1 (QEMU leaves applying it to the listener).
    virtual void audio_volume(bool mute, std::span<const float> volumes) = 0;
    // No sound any more: the stream ended or QEMU closed the connection.
    virtual void audio_stopped() = 0;
};

} // namespace vmcast::qemu
