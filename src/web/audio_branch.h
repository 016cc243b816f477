// The VM's sound in a console's encoder pipeline: QEMU's frames into an appsrc, Opus, RTP, and
// a tee each viewer's webrtcbin takes a second (audio) stream from. The appsrc timestamps as
// the video's does, on the same pipeline clock, so webrtcbin gives both streams RTP times of one
// basis and its sender reports map both to the same wall clock: the browser plays them in step.
#pragma once

#include <gst/gst.h>

#include <optional>
#include <string>

#include "common/audio_tap.h"
#include "common/pcm_format.h"

namespace vmcast::web {

// What the branch sends each viewer; also its transceiver's codec preferences, which webrtcbin
// cannot learn from the pad before the first sound flows. Browsers take Opus only as
// "opus/48000/2" in the SDP: the 2 is encoding-params.
inline constexpr const char *kOpusRtpCaps = "application/x-rtp,media=audio,encoding-name=OPUS,"
                                            "clock-rate=48000,encoding-params=(string)2,payload=97";

class AudioBranch {
  public:
    // Adds the branch to pipeline and takes the sound from tap. nullptr and a reason in error
    // when a GStreamer element is missing.
    static std::unique_ptr<AudioBranch> create(GstBin *pipeline, AudioTap &tap, std::string &error);
    AudioBranch(const AudioBranch &) = delete;
    AudioBranch &operator=(const AudioBranch &) = delete;
    ~AudioBranch();

    // A new pad of the branch (a ghost of one of its tee's), for one viewer's queue; released
    // with release_pad.
    GstPad *request_pad();
    void release_pad(GstPad *pad);

  private:
    AudioBranch(GstElement *bin, GstElement *source, GstElement *volume, GstElement *tee,
                AudioTap &tap);
    void push(const AudioChunk &chunk);

    GstElement *bin_;                      // the branch's elements, owned by the pipeline
    GstElement *source_;                   // the appsrc, owned by the pipeline
    GstElement *volume_;                   // owned by the pipeline
    GstElement *tee_;                      // owned by the pipeline
    std::optional<PcmFormat> caps_format_; // what the appsrc's caps say
    double gain_ = 1.0;
    AudioTap::Subscription subscription_;
};

} // namespace vmcast::web
