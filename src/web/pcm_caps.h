// QEMU's PCM formats as GStreamer raw audio caps, both ways: the VM's sound into the page's
// encoder, and the page's microphone out of its decoder.
#pragma once

#include <gst/gst.h>

#include <optional>

#include "common/pcm_format.h"

namespace vmcast::web {

// audio/x-raw, interleaved; more than two channels get GStreamer's usual positions (QEMU says
// nothing of them), so that audioconvert can mix them.
GstCaps *pcm_caps(const PcmFormat &format);
// The format of fixed raw audio caps, or nullopt when they are not one of QEMU's.
std::optional<PcmFormat> pcm_format_of(const GstCaps *caps);

} // namespace vmcast::web
