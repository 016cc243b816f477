#include "web/console_encoder.h"

#include "web/microphone_branch.h"

#include <gst/app/gstappsrc.h>
#include <gst/video/video.h>

#include <libyuv.h>

#include <utility>

#include "common/glib_ptr.h"
#include "web/gst_util.h"
#include "web/playout_delay.h"

namespace vmcast::web {
namespace {

constexpr guint kSettleCheckMs = 100;
// vmcast's own --max-fps default, for a node that states no maximum rate.
constexpr int kFallbackMaxFps = 60;
// Bounds a viewer's queue where packets carry no timestamps to measure a second by.
constexpr guint kViewerQueueBytes = 16u << 20;
// A screen without new frames for this long has settled.
constexpr int64_t kSettledAfterUs = 400 * 1000;
// What the viewers read while PipeWire is away.
constexpr const char *kPipeWireGone = "PipeWire stopped; the picture goes on once it is back";
// Frames this soon after a refresh are the refresh's own picture, not activity.
constexpr int64_t kRefreshOwnFramesUs = 1000 * 1000;

// Latency matters more than compression: no B-frames, no lookahead, one frame in flight. The
// constrained baseline profile is what every browser decodes. Keyframes come on request (a
// new viewer, a browser's PLI), plus every 10 s so a lost one does not freeze a viewer for long.
// The appsrc holds one picture, the newest: a slow encoder skips pictures instead of lagging.
// Pictures arrive in I420 already (push_picture converts them).
std::string pipeline_description(Codec codec, uint32_t kbps) {
    std::string description = "appsrc name=source is-live=true format=time do-timestamp=true "
                              "max-buffers=1 leaky-type=downstream ! ";
    if (codec == Codec::H264)
        description += "x264enc name=encoder tune=zerolatency speed-preset=ultrafast bframes=0 "
                       "rc-lookahead=0 sliced-threads=true key-int-max=600 bitrate=" +
                       std::to_string(kbps) +
                       " ! video/x-h264,profile=constrained-baseline ! "
                       "rtph264pay name=payloader config-interval=-1 aggregate-mode=zero-latency "
                       "mtu=1200 ! "
                       "application/x-rtp,media=video,encoding-name=H264,payload=96,"
                       "clock-rate=90000," +
                       zero_playout_delay_caps_field() + " ! ";
    else
        description += "vp8enc name=encoder deadline=1 cpu-used=8 lag-in-frames=0 "
                       "end-usage=cbr error-resilient=default keyframe-max-dist=600 "
                       "target-bitrate=" +
                       std::to_string(kbps * 1000) +
                       " ! rtpvp8pay name=payloader picture-id-mode=15-bit mtu=1200 ! "
                       "application/x-rtp,media=video,encoding-name=VP8,payload=96,"
                       "clock-rate=90000," +
                       zero_playout_delay_caps_field() + " ! ";
    description += "tee name=viewers allow-not-linked=true";
    return description;
}

} // namespace

struct ConsoleEncoder::Branch {
    GstElement *queue = nullptr;  // owned by the pipeline
    GstElement *webrtc = nullptr; // owned by the pipeline
    GstPad *tee_pad = nullptr;    // a request pad of the tee
    // The sound's, when the VM has some.
    GstElement *audio_queue = nullptr; // owned by the pipeline
    GstPad *audio_tee_pad = nullptr;   // a request pad of the audio's tee
};

const char *codec_name(Codec codec) {
    return codec == Codec::H264 ? "H.264" : "VP8";
}

Codec preferred_codec() {
    return element_exists("x264enc") ? Codec::H264 : Codec::VP8;
}

std::unique_ptr<ConsoleEncoder> ConsoleEncoder::create(pipewire::PipeWireContext &pipewire,
                                                       const std::string &node_name, Codec codec,
                                                       uint32_t bitrate_kbps, AudioTap *audio,
                                                       std::string &error) {
    const char *needed[] = {"appsrc", "webrtcbin", codec == Codec::H264 ? "x264enc" : "vp8enc",
                            codec == Codec::H264 ? "rtph264pay" : "rtpvp8pay"};
    for (const char *factory : needed) {
        if (!element_exists(factory)) {
            error = std::string("the GStreamer element ") + factory +
                    " is missing (scripts/install-deps.sh installs it)";
            return nullptr;
        }
    }
    GError *raw_error = nullptr;
    GstElement *pipeline =
        gst_parse_launch(pipeline_description(codec, bitrate_kbps).c_str(), &raw_error);
    GErrorPtr parse_error(raw_error);
    if (!pipeline || parse_error) {
        if (pipeline)
            gst_object_unref(pipeline);
        error = std::string("cannot build the encoder pipeline: ") +
                (parse_error ? parse_error->message : "unknown error");
        return nullptr;
    }
    gst_element_set_name(pipeline, ("web-" + node_name).c_str());
    GstPtr<GstElement> payloader(gst_bin_get_by_name(GST_BIN(pipeline), "payloader"));
    if (!add_zero_playout_delay(payloader.get()))
        g_info("%s: the RTP payloader takes no header extensions; browsers will hold frames in "
               "their jitter buffer",
               node_name.c_str());
    std::unique_ptr<ConsoleEncoder> encoder(
        new ConsoleEncoder(pipewire, node_name, codec, pipeline, bitrate_kbps));
    if (audio) {
        encoder->audio_ = AudioBranch::create(GST_BIN(pipeline), *audio, error);
        if (!encoder->audio_)
            return nullptr;
        g_info("%s: the page gets the VM's sound too (Opus)", node_name.c_str());
    }
    return encoder;
}

ConsoleEncoder::ConsoleEncoder(pipewire::PipeWireContext &pipewire, std::string node_name,
                               Codec codec, GstElement *pipeline, uint32_t bitrate_kbps)
    : node_name_(std::move(node_name)), codec_(codec), pipeline_(pipeline),
      source_(gst_bin_get_by_name(GST_BIN(pipeline), "source")),
      tee_(gst_bin_get_by_name(GST_BIN(pipeline), "viewers")),
      encoder_(gst_bin_get_by_name(GST_BIN(pipeline), "encoder")), bitrate_kbps_(bitrate_kbps),
      max_bitrate_kbps_(bitrate_kbps),
      reader_(
          pipewire, node_name_, "vmcast-web." + node_name_,
          [this](const pipewire::ReadPicture &picture) { push_picture(picture); },
          [this](const std::string &error) { fail_later("cannot read the console: " + error); }),
      // The reader links again by itself once PipeWire is back; meanwhile the viewers keep the
      // last picture, and read why.
      pipewire_(pipewire), pipewire_watch_(pipewire.watch_connection([this](bool connected) {
          if (!connected && branches_ > 0)
              set_notice(kPipeWireGone);
      })) {
    // The pipeline holds these elements for as long as it lives.
    gst_object_unref(source_);
    gst_object_unref(tee_);
    gst_object_unref(encoder_);
    GstPtr<GstBus> bus(gst_element_get_bus(pipeline_));
    bus_watch_ = gst_bus_add_watch(bus.get(), on_bus_message, this);
    // The probe lives as long as the pad, which GStreamer may hold after the encoder is gone: it
    // shares the count.
    GstPtr<GstPad> encoder_sink(gst_element_get_static_pad(encoder_, "sink"));
    gst_pad_add_probe(
        encoder_sink.get(), GST_PAD_PROBE_TYPE_BUFFER,
        [](GstPad *, GstPadProbeInfo *, gpointer frames) {
            (*static_cast<FrameCount *>(frames))->fetch_add(1, std::memory_order_relaxed);
            return GST_PAD_PROBE_OK;
        },
        new FrameCount(frames_in_),
        [](gpointer frames) { delete static_cast<FrameCount *>(frames); });
}

void ConsoleEncoder::check_settled() {
    const int64_t now = g_get_monotonic_time();
    const uint64_t frames = frames_in_->load(std::memory_order_relaxed);
    if (frames != frames_seen_) {
        frames_seen_ = frames;
        last_frame_us_ = now;
        return;
    }
    // Still for a while after frames that were not the last refresh's own.
    const bool activity_since_refresh = last_frame_us_ > last_refresh_us_ + kRefreshOwnFramesUs;
    if (!activity_since_refresh || now - last_frame_us_ < kSettledAfterUs)
        return;
    last_refresh_us_ = now;
    g_debug("%s: screen settled; refreshing viewers with a keyframe", node_name_.c_str());
    request_keyframe();
    if (on_settled_)
        on_settled_();
}

ConsoleEncoder::~ConsoleEncoder() {
    settle_timer_.reset();
    if (bus_watch_)
        g_source_remove(bus_watch_);
    reader_.stop();
    gst_element_set_state(pipeline_, GST_STATE_NULL);
    gst_object_unref(pipeline_);
}

void ConsoleEncoder::set_playing(bool playing) {
    // Watched only while someone watches: a stopped encoder costs no wakeups.
    settle_timer_.reset();
    if (playing) {
        reader_.start();
        // A first viewer while PipeWire is away reads why there is no picture yet.
        if (!pipewire_.connected())
            set_notice(kPipeWireGone);
    } else {
        reader_.stop();
        notice_.clear();
    }
    if (playing)
        settle_timer_ = attach_timeout(
            kSettleCheckMs,
            [](gpointer self) -> gboolean {
                static_cast<ConsoleEncoder *>(self)->check_settled();
                return G_SOURCE_CONTINUE;
            },
            this);
    // A live source: starting returns at once, without waiting for a first picture.
    const GstStateChangeReturn result =
        gst_element_set_state(pipeline_, playing ? GST_STATE_PLAYING : GST_STATE_NULL);
    g_debug("%s: encoder %s (%s)", node_name_.c_str(), playing ? "started" : "stopped",
            gst_element_state_change_return_get_name(result));
}

ConsoleEncoder::Branch *ConsoleEncoder::attach(GstElement *webrtc) {
    auto *branch = new Branch;
    // A viewer that falls behind loses old packets instead of delaying the others. The queue
    // holds a second of video: a keyframe alone is hundreds of packets, which the encoder hands
    // over at once, and a packet dropped here is lost for good (retransmission sits behind it).
    branch->queue = gst_element_factory_make("queue", nullptr);
    g_object_set(branch->queue, "max-size-buffers", 0u, "max-size-bytes", kViewerQueueBytes,
                 "max-size-time", guint64(GST_SECOND), "leaky", 2 /* downstream */, nullptr);
    branch->webrtc = webrtc;
    gst_bin_add_many(GST_BIN(pipeline_), branch->queue, webrtc, nullptr);
    GstPtr<GstPad> queue_src(gst_element_get_static_pad(branch->queue, "src"));
    GstPtr<GstPad> webrtc_sink(gst_element_request_pad_simple(webrtc, "sink_%u"));
    if (gst_pad_link(queue_src.get(), webrtc_sink.get()) != GST_PAD_LINK_OK)
        g_warning("%s: cannot link a viewer's webrtcbin", node_name_.c_str());
    branch->tee_pad = gst_element_request_pad_simple(tee_, "src_%u");
    GstPtr<GstPad> queue_sink(gst_element_get_static_pad(branch->queue, "sink"));
    gst_pad_link(branch->tee_pad, queue_sink.get());
    if (audio_)
        attach_audio(*branch);
    // The branch plays at once, whatever the pipeline's state: webrtcbin makes the viewer's offer
    // only while it plays, and the pipeline starts with the first viewer, after this.
    // Locked, so the pipeline's own changes leave the branch alone; the bin still gives it
    // the pipeline's clock and base time.
    for (GstElement *element : {branch->queue, branch->audio_queue, webrtc}) {
        if (!element)
            continue;
        gst_element_set_locked_state(element, TRUE);
        gst_element_set_state(element, GST_STATE_PLAYING);
    }
    if (++branches_ == 1)
        set_playing(true);
    return branch;
}

void ConsoleEncoder::attach_audio(Branch &branch) {
    // A leaky queue as for the video: a slow viewer loses old sound, not the others' time.
    branch.audio_queue = gst_element_factory_make("queue", nullptr);
    g_object_set(branch.audio_queue, "max-size-buffers", 0u, "max-size-bytes", 0u, "max-size-time",
                 guint64(GST_SECOND), "leaky", 2 /* downstream */, nullptr);
    gst_bin_add(GST_BIN(pipeline_), branch.audio_queue);
    GstPtr<GstPad> queue_src(gst_element_get_static_pad(branch.audio_queue, "src"));
    GstPtr<GstPad> webrtc_sink(gst_element_request_pad_simple(branch.webrtc, "sink_%u"));
    if (gst_pad_link(queue_src.get(), webrtc_sink.get()) != GST_PAD_LINK_OK)
        g_warning("%s: cannot link a viewer's audio", node_name_.c_str());
    branch.audio_tee_pad = audio_->request_pad();
    GstPtr<GstPad> queue_sink(gst_element_get_static_pad(branch.audio_queue, "sink"));
    if (gst_pad_link(branch.audio_tee_pad, queue_sink.get()) != GST_PAD_LINK_OK)
        g_warning("%s: cannot link a viewer's audio", node_name_.c_str());
}

void ConsoleEncoder::detach(Branch *branch) {
    // Unlinked first, so no buffer is on its way into the branch when it stops.
    GstPtr<GstPad> queue_sink(gst_element_get_static_pad(branch->queue, "sink"));
    gst_pad_unlink(branch->tee_pad, queue_sink.get());
    gst_element_release_request_pad(tee_, branch->tee_pad);
    gst_object_unref(branch->tee_pad);
    if (branch->audio_tee_pad) {
        GstPtr<GstPad> audio_sink(gst_element_get_static_pad(branch->audio_queue, "sink"));
        gst_pad_unlink(branch->audio_tee_pad, audio_sink.get());
        audio_->release_pad(branch->audio_tee_pad);
    }
    for (GstElement *element : {branch->webrtc, branch->queue, branch->audio_queue}) {
        if (!element)
            continue;
        gst_element_set_state(element, GST_STATE_NULL);
        gst_bin_remove(GST_BIN(pipeline_), element);
    }
    delete branch;
    if (--branches_ == 0)
        set_playing(false);
}

void ConsoleEncoder::set_notice(std::string notice) {
    notice_ = std::move(notice);
    // Posted: the reader's callbacks run inside PipeWire's.
    lifeline_.post([this] {
        if (on_notice_)
            on_notice_(notice_);
    });
}

void ConsoleEncoder::push_picture(const pipewire::ReadPicture &picture) {
    if (!notice_.empty())
        set_notice({});
    if (auto capture = std::exchange(capture_, nullptr))
        capture(picture);
    // A variable rate needs its maximum: without one x264enc holds each frame until the next
    // comes (measured: a key press on a still screen showed half a second late, or not at all).
    const PictureCaps wanted{picture.width, picture.height,
                             picture.max_framerate.num > 0 && picture.max_framerate.denom > 0
                                 ? picture.max_framerate
                                 : SPA_FRACTION(kFallbackMaxFps, 1)};
    if (caps_ != wanted) {
        // The caps travel in the stream ahead of the next buffer: the encoder takes the new size
        // from there (a resize, a guest's reboot). BT.601 limited range is what libyuv writes;
        // x264enc signals it in the stream, and VP8 knows no other.
        GstCaps *caps = gst_caps_new_simple(
            "video/x-raw", "format", G_TYPE_STRING, "I420", "colorimetry", G_TYPE_STRING,
            GST_VIDEO_COLORIMETRY_BT601, "width", G_TYPE_INT, gint(wanted.width), "height",
            G_TYPE_INT, gint(wanted.height), "framerate", GST_TYPE_FRACTION, 0, 1, "max-framerate",
            GST_TYPE_FRACTION, gint(wanted.max_framerate.num), gint(wanted.max_framerate.denom),
            nullptr);
        const bool understood = gst_video_info_from_caps(&i420_layout_, caps);
        gst_app_src_set_caps(GST_APP_SRC(source_), caps);
        gst_caps_unref(caps);
        if (!understood) {
            caps_.reset();
            fail_later("GStreamer cannot lay out a " + std::to_string(wanted.width) + "x" +
                       std::to_string(wanted.height) + " I420 picture");
            return;
        }
        caps_ = wanted;
        g_debug("%s: encoding %ux%u", node_name_.c_str(), wanted.width, wanted.height);
    }
    // One pass from the PipeWire buffer into the encoder's own (B,G,R,X is libyuv's "ARGB"):
    // no copy in between, and about a tenth of videoconvert's time (bench/README.md).
    GstBuffer *buffer =
        gst_buffer_new_allocate(nullptr, GST_VIDEO_INFO_SIZE(&i420_layout_), nullptr);
    GstMapInfo map;
    if (!gst_buffer_map(buffer, &map, GST_MAP_WRITE)) {
        gst_buffer_unref(buffer);
        return;
    }
    const GstVideoInfo &layout = i420_layout_;
    auto plane = [&](int index) { return map.data + GST_VIDEO_INFO_PLANE_OFFSET(&layout, index); };
    libyuv::ARGBToI420(
        picture.pixels.data(), int(picture.stride), plane(0),
        GST_VIDEO_INFO_PLANE_STRIDE(&layout, 0), plane(1), GST_VIDEO_INFO_PLANE_STRIDE(&layout, 1),
        plane(2), GST_VIDEO_INFO_PLANE_STRIDE(&layout, 2), int(picture.width), int(picture.height));
    gst_buffer_unmap(buffer, &map);
    gst_app_src_push_buffer(GST_APP_SRC(source_), buffer); // takes the buffer
}

void ConsoleEncoder::fail_later(std::string reason) {
    // The callback may destroy the encoder: it runs after the caller has returned.
    lifeline_.post([this, reason = std::move(reason)] {
        if (on_failure_)
            on_failure_(reason);
    });
}

void ConsoleEncoder::request_keyframe() {
    GstPtr<GstPad> encoder_src(gst_element_get_static_pad(encoder_, "src"));
    gst_pad_send_event(encoder_src.get(),
                       gst_video_event_new_upstream_force_key_unit(GST_CLOCK_TIME_NONE, TRUE, 0));
}

void ConsoleEncoder::set_bitrate(uint32_t kbps) {
    if (kbps == bitrate_kbps_)
        return;
    bitrate_kbps_ = kbps;
    if (codec_ == Codec::H264)
        g_object_set(encoder_, "bitrate", guint(kbps), nullptr);
    else
        g_object_set(encoder_, "target-bitrate", gint(kbps * 1000), nullptr);
    g_debug("%s: encoder bitrate %u kbit/s", node_name_.c_str(), kbps);
}

gboolean ConsoleEncoder::on_bus_message(GstBus *, GstMessage *message, gpointer data) {
    auto *self = static_cast<ConsoleEncoder *>(data);
    if (GST_MESSAGE_TYPE(message) == GST_MESSAGE_ERROR) {
        GError *raw_error = nullptr;
        gchar *debug = nullptr;
        gst_message_parse_error(message, &raw_error, &debug);
        GErrorPtr error(raw_error);
        GCharPtr debug_owner(debug);
        // The debug text says why, e.g. "streaming stopped, reason not-negotiated (-4)".
        g_warning("%s: encoder pipeline error from %s: %s (%s)", self->node_name_.c_str(),
                  GST_OBJECT_NAME(GST_MESSAGE_SRC(message)), error->message,
                  debug ? debug : "no details");
        // A viewer's microphone decoder failing takes its sound away, not the others' picture.
        if (!MicrophoneBranch::owns(GST_MESSAGE_SRC(message)))
            self->fail_later(error->message);
    } else if (GST_MESSAGE_TYPE(message) == GST_MESSAGE_WARNING) {
        GError *raw_error = nullptr;
        gst_message_parse_warning(message, &raw_error, nullptr);
        GErrorPtr error(raw_error);
        g_info("%s: encoder warning: %s", self->node_name_.c_str(), error->message);
    }
    return G_SOURCE_CONTINUE;
}

} // namespace vmcast::web
