// One console's encoder, shared by all its web viewers: it reads the console's PipeWire node like
// any other consumer (pipewire::NodeReader) into a GStreamer pipeline that encodes it once (H.264
// with x264enc, VP8 with vp8enc where x264enc is missing or unwanted), payloads it into RTP and
// feeds a tee. Each viewer adds its own webrtcbin behind the tee.
#pragma once

#include <gst/gst.h>
#include <gst/video/video.h>

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/glib_ptr.h"
#include "pipewire/node_reader.h"
#include "web/audio_branch.h"
#include "web/main_thread.h"

namespace vmcast::web {

enum class Codec { H264, VP8 };

const char *codec_name(Codec codec);
// H.264 when x264enc is installed, VP8 otherwise. GStreamer must be initialised.
Codec preferred_codec();

class ConsoleEncoder {
  public:
    struct Branch; // one viewer's queue and webrtcbin behind the tee

    // error is empty unless the pipeline failed; then it says why.
    using FailureCallback = std::function<void(const std::string &error)>;

    // The pipeline for node_name, not yet playing. nullptr and a reason in error when a
    // GStreamer element is missing.
    // With audio (the VM's sound), each viewer also gets an Opus stream of it.
    static std::unique_ptr<ConsoleEncoder> create(pipewire::PipeWireContext &pipewire,
                                                  const std::string &node_name, Codec codec,
                                                  uint32_t bitrate_kbps, AudioTap *audio,
                                                  std::string &error);
    ConsoleEncoder(const ConsoleEncoder &) = delete;
    ConsoleEncoder &operator=(const ConsoleEncoder &) = delete;
    ~ConsoleEncoder();

    void set_failure_callback(FailureCallback callback) { on_failure_ = std::move(callback); }
    // Called once the screen settles after activity: the encoder then makes a keyframe of the
    // fresh picture the callback asks for, so a viewer whose decoder lost a frame recovers
    // although a still screen sends nothing more.
    void set_settled_callback(std::function<void()> callback) { on_settled_ = std::move(callback); }
    // Called from the main loop when the viewers' picture stops for a reason they should read
    // (PipeWire went away), and with an empty text when it goes on.
    void set_notice_callback(std::function<void(const std::string &)> callback) {
        on_notice_ = std::move(callback);
    }
    // Why the picture stopped, or empty while it goes on.
    const std::string &notice() const { return notice_; }

    // Puts webrtc (a webrtcbin not yet in any bin) behind the tee (and the audio's: its second
    // stream), and starts the pipeline with the first viewer. The branch belongs to the encoder
    // until detach().
    Branch *attach(GstElement *webrtc);
    // Unlinks the branch without stopping the others, and stops the pipeline after the last.
    void detach(Branch *branch);

    // Whether a viewer is attached, so pictures come in.
    bool reading() const { return branches_ > 0; }
    // callback gets the next picture read from the console's node, once (screenshots). It
    // replaces a callback still waiting, so captures never pile up.
    void capture_next_picture(std::function<void(const pipewire::ReadPicture &)> callback) {
        capture_ = std::move(callback);
    }

    // The next encoded frame is a keyframe (a viewer joined or lost packets).
    void request_keyframe();
    void set_bitrate(uint32_t kbps);
    uint32_t bitrate_kbps() const { return bitrate_kbps_; }
    // The bitrate the encoder was created with, which adaptation never exceeds.
    uint32_t max_bitrate_kbps() const { return max_bitrate_kbps_; }
    Codec codec() const { return codec_; }
    const std::string &node_name() const { return node_name_; }

  private:
    ConsoleEncoder(pipewire::PipeWireContext &pipewire, std::string node_name, Codec codec,
                   GstElement *pipeline, uint32_t bitrate_kbps);
    static gboolean on_bus_message(GstBus *, GstMessage *message, gpointer self);
    // The picture, in I420, into the pipeline, with new caps when its size or rate changed.
    void push_picture(const pipewire::ReadPicture &picture);
    // Tells on_failure_ soon, from the main loop.
    void fail_later(std::string reason);
    void set_playing(bool playing);
    // Links the audio's tee to the branch's webrtcbin, as its second stream.
    void attach_audio(Branch &branch);
    void check_settled();
    void set_notice(std::string notice);

    std::string node_name_;
    Codec codec_;
    GstElement *pipeline_; // owned
    GstElement *source_;   // the appsrc, owned by the pipeline
    GstElement *tee_;      // owned by the pipeline
    GstElement *encoder_;  // owned by the pipeline
    uint32_t bitrate_kbps_;
    const uint32_t max_bitrate_kbps_;
    pipewire::NodeReader reader_;
    std::unique_ptr<AudioBranch> audio_; // when the VM has sound
    // What the caps last given to the appsrc say; unset before the first picture.
    struct PictureCaps {
        uint32_t width;
        uint32_t height;
        spa_fraction max_framerate;
        bool operator==(const PictureCaps &other) const {
            return width == other.width && height == other.height &&
                   max_framerate.num == other.max_framerate.num &&
                   max_framerate.denom == other.max_framerate.denom;
        }
    };
    std::optional<PictureCaps> caps_;
    GstVideoInfo i420_layout_{}; // planes' offsets and strides for caps_
    guint bus_watch_ = 0;
    size_t branches_ = 0;
    FailureCallback on_failure_;
    std::function<void()> on_settled_;
    std::function<void(const std::string &)> on_notice_;
    std::string notice_;
    std::function<void(const pipewire::ReadPicture &)> capture_;
    // Frames into the encoder (counted on a streaming thread), as last seen by check_settled.
    using FrameCount = std::shared_ptr<std::atomic<uint64_t>>;
    FrameCount frames_in_ = std::make_shared<std::atomic<uint64_t>>(0);
    uint64_t frames_seen_ = 0;
    int64_t last_frame_us_ = 0;
    int64_t last_refresh_us_ = 0;
    GSourcePtr settle_timer_;
    pipewire::PipeWireContext &pipewire_;
    CallbackList<bool>::Subscription pipewire_watch_;
    Lifeline lifeline_;
};

} // namespace vmcast::web
