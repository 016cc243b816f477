// The VM's sound as QEMU plays it, for its users inside vmcast (the page's encoders): each
// chunk of whole frames with its format and the guest's volume.
#pragma once

#include <cstdint>
#include <span>

#include "common/callback_list.h"
#include "common/pcm_format.h"

namespace vmcast {

struct AudioChunk {
    const PcmFormat &format;
    std::span<const uint8_t> frames;
    double gain; // the guest's volume, 0 when muted
};

using AudioTap = CallbackList<const AudioChunk &>;

} // namespace vmcast
