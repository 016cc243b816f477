// The RTP header extension that tells a browser when to show each frame: a playout delay of at
// least and at most 0 ms (http://www.webrtc.org/experiments/rtp-hdrext/playout-delay). Chromium
// then renders each frame as soon as it is decoded instead of holding it in a jitter buffer
// sized for a video call; jitterBufferTarget = 0 on the page only lowers that buffer's target.
#pragma once

#include <string>

#include <gst/gst.h>

namespace vmcast::web {

// Adds the extension to an RTP payloader, which then writes it into every packet and
// announces it in its caps (and webrtcbin in the SDP offer). False when the payloader
// cannot take header extensions.
bool add_zero_playout_delay(GstElement *payloader);

// The field of the payloader's caps that names the extension (extmap-ID=URI). webrtcbin builds
// its SDP offer from the caps it can query before any packet flows, so the caps after the
// payloader must carry it from the start.
std::string zero_playout_delay_caps_field();

} // namespace vmcast::web
