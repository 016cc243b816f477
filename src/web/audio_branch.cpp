#include "web/audio_branch.h"

#include <gst/app/gstappsrc.h>
#include <gst/audio/audio.h>

#include "common/glib_ptr.h"
#include "web/gst_util.h"
#include "web/pcm_caps.h"

namespace vmcast::web {
namespace {

// Opus in 10 ms frames (its default is 20) for latency; the browser's jitter buffer does the
// rest. The appsrc queues a quarter second at most, whatever the format: a stalled encoder
// drops old sound. Stereo for the page, whatever QEMU plays: WebRTC's "opus/48000/2" (more
// channels would be rtpopuspay's MULTIOPUS, which the offer does not have).
std::string description() {
    return std::string("appsrc name=audio-source is-live=true format=time do-timestamp=true "
                       "max-bytes=0 max-time=250000000 leaky-type=downstream ! audioconvert ! "
                       "audioresample ! audio/x-raw,channels=2 ! volume name=audio-volume ! "
                       "opusenc frame-size=10 perfect-timestamp=true ! "
                       "rtpopuspay mtu=1200 ! ") +
           kOpusRtpCaps + " ! tee name=audio-viewers allow-not-linked=true";
}

} // namespace

std::unique_ptr<AudioBranch> AudioBranch::create(GstBin *pipeline, AudioTap &tap,
                                                 std::string &error) {
    for (const char *factory : {"opusenc", "rtpopuspay", "audioconvert", "audioresample"}) {
        if (!element_exists(factory)) {
            error = std::string("the GStreamer element ") + factory +
                    " is missing (scripts/install-deps.sh installs it)";
            return nullptr;
        }
    }
    GError *raw_error = nullptr;
    GstElement *bin = gst_parse_bin_from_description(description().c_str(), FALSE, &raw_error);
    GErrorPtr parse_error(raw_error);
    if (!bin || parse_error) {
        if (bin)
            gst_object_unref(bin);
        error = std::string("cannot build the audio branch: ") +
                (parse_error ? parse_error->message : "unknown error");
        return nullptr;
    }
    gst_bin_add(pipeline, bin); // the pipeline owns it, and its elements
    GstElement *source = gst_bin_get_by_name(GST_BIN(bin), "audio-source");
    GstElement *volume = gst_bin_get_by_name(GST_BIN(bin), "audio-volume");
    GstElement *tee = gst_bin_get_by_name(GST_BIN(bin), "audio-viewers");
    gst_object_unref(source);
    gst_object_unref(volume);
    gst_object_unref(tee);
    return std::unique_ptr<AudioBranch>(new AudioBranch(bin, source, volume, tee, tap));
}

AudioBranch::AudioBranch(GstElement *bin, GstElement *source, GstElement *volume, GstElement *tee,
                         AudioTap &tap)
    : bin_(bin), source_(source), volume_(volume), tee_(tee),
      subscription_(tap.add([this](const AudioChunk &chunk) { push(chunk); })) {}

AudioBranch::~AudioBranch() = default;

GstPad *AudioBranch::request_pad() {
    // Pads link only within one bin: the viewer's queue is in the pipeline, the tee in bin_.
    GstPad *tee_pad = gst_element_request_pad_simple(tee_, "src_%u");
    GstPad *ghost = gst_ghost_pad_new(nullptr, tee_pad);
    gst_object_unref(tee_pad); // the ghost's target keeps it
    gst_pad_set_active(ghost, TRUE);
    gst_element_add_pad(bin_, ghost);
    return GST_PAD(gst_object_ref(ghost));
}

void AudioBranch::release_pad(GstPad *pad) {
    GstPad *tee_pad = gst_ghost_pad_get_target(GST_GHOST_PAD(pad));
    gst_element_remove_pad(bin_, pad);
    gst_object_unref(pad);
    if (tee_pad) {
        gst_element_release_request_pad(tee_, tee_pad);
        gst_object_unref(tee_pad);
    }
}

void AudioBranch::push(const AudioChunk &chunk) {
    if (caps_format_ != chunk.format) {
        caps_format_ = chunk.format;
        GstCaps *caps = pcm_caps(chunk.format);
        gst_app_src_set_caps(GST_APP_SRC(source_), caps);
        gst_caps_unref(caps);
    }
    if (chunk.gain != gain_) {
        gain_ = chunk.gain;
        g_object_set(volume_, "volume", gain_, nullptr);
    }
    GstBuffer *buffer = gst_buffer_new_memdup(chunk.frames.data(), chunk.frames.size());
    gst_app_src_push_buffer(GST_APP_SRC(source_), buffer);
}

} // namespace vmcast::web
