#include "web/microphone_branch.h"

#include <gst/app/gstappsink.h>

#include <optional>
#include <string>

#include "common/glib_ptr.h"
#include "web/gst_util.h"
#include "web/pcm_caps.h"

namespace vmcast::web {
namespace {

// A leaky queue, as for what vmcast sends: a stalled decoder loses old sound, not time. The
// appsink drops what it cannot hand on at once (the Microphone bounds what waits for QEMU).
constexpr const char *kDescription =
    "queue max-size-buffers=0 max-size-bytes=0 max-size-time=200000000 leaky=downstream ! "
    "rtpopusdepay ! opusdec plc=true ! audioconvert ! audioresample ! "
    "capsfilter name=microphone-caps ! "
    "appsink name=microphone-sink sync=false async=false max-buffers=4 drop=true";

constexpr const char *kBinNamePrefix = "microphone-of-viewer-";

// What the appsink's streaming thread needs; freed with the appsink's callbacks.
struct SinkContext {
    std::shared_ptr<Microphone> microphone;
    uint64_t viewer;
    GstElement *caps_filter;        // owned by the bin, which outlives the sink's streaming
    std::optional<PcmFormat> asked; // what caps_filter asks for (this thread's alone)
};

// The branch's converter turns the page's sound into format from now on.
void convert_to(GstElement *caps_filter, const PcmFormat &format) {
    GstCaps *caps = pcm_caps(format);
    g_object_set(caps_filter, "caps", caps, nullptr);
    gst_caps_unref(caps);
}

struct GstSampleUnref {
    void operator()(GstSample *sample) const { gst_sample_unref(sample); }
};

GstFlowReturn on_new_sample(GstAppSink *sink, gpointer data) {
    auto *context = static_cast<SinkContext *>(data);
    std::unique_ptr<GstSample, GstSampleUnref> sample(gst_app_sink_pull_sample(sink));
    if (!sample)
        return GST_FLOW_OK; // flushing
    const std::optional<PcmFormat> wanted = context->microphone->format();
    if (wanted && wanted != context->asked) {
        // QEMU records in another format now: the converter follows, and what was on its way
        // in the old one is dropped by the Microphone.
        context->asked = wanted;
        convert_to(context->caps_filter, *wanted);
    }
    const std::optional<PcmFormat> format = pcm_format_of(gst_sample_get_caps(sample.get()));
    GstBuffer *buffer = gst_sample_get_buffer(sample.get());
    GstMapInfo map;
    if (format && buffer && gst_buffer_map(buffer, &map, GST_MAP_READ)) {
        context->microphone->write(context->viewer, *format, {map.data, map.size});
        gst_buffer_unmap(buffer, &map);
    }
    return GST_FLOW_OK;
}

struct GstCapsUnref {
    void operator()(GstCaps *caps) const { gst_caps_unref(caps); }
};

bool is_audio(GstPad *pad) {
    std::unique_ptr<GstCaps, GstCapsUnref> caps(gst_pad_get_current_caps(pad));
    if (!caps)
        caps.reset(gst_pad_query_caps(pad, nullptr));
    const GstStructure *rtp =
        caps && !gst_caps_is_empty(caps.get()) ? gst_caps_get_structure(caps.get(), 0) : nullptr;
    const char *media = rtp ? gst_structure_get_string(rtp, "media") : nullptr;
    return media && g_str_equal(media, "audio");
}

// On a streaming thread of webrtcbin's: the page's track, linked to the branch at once.
void on_pad_added(GstElement *, GstPad *pad, gpointer branch_sink) {
    auto *sink = static_cast<GstPad *>(branch_sink);
    if (GST_PAD_DIRECTION(pad) != GST_PAD_SRC || gst_pad_is_linked(sink) || !is_audio(pad))
        return;
    const GstPadLinkReturn linked = gst_pad_link(pad, sink);
    if (linked == GST_PAD_LINK_OK)
        g_info("web: a viewer's microphone track arrives");
    else if (linked != GST_PAD_LINK_WAS_LINKED) // another pad came first
        g_warning("web: cannot link a viewer's microphone track");
}

} // namespace

std::unique_ptr<MicrophoneBranch> MicrophoneBranch::create(GstElement *webrtc,
                                                           std::shared_ptr<Microphone> microphone,
                                                           uint64_t viewer, std::string &error) {
    GError *raw_error = nullptr;
    GstElement *bin = gst_parse_bin_from_description(kDescription, TRUE, &raw_error);
    GErrorPtr parse_error(raw_error);
    if (!bin) {
        error = std::string("cannot make the microphone's decoder: ") + parse_error->message;
        return nullptr;
    }
    gst_object_set_name(GST_OBJECT(bin), (kBinNamePrefix + std::to_string(viewer)).c_str());
    GstPtr<GstElement> caps_filter(gst_bin_get_by_name(GST_BIN(bin), "microphone-caps"));
    GstPtr<GstElement> app_sink(gst_bin_get_by_name(GST_BIN(bin), "microphone-sink"));
    const std::optional<PcmFormat> format = microphone->format();
    if (format)
        convert_to(caps_filter.get(), *format);
    GstAppSinkCallbacks callbacks{};
    callbacks.new_sample = on_new_sample;
    gst_app_sink_set_callbacks(
        GST_APP_SINK(app_sink.get()), &callbacks,
        new SinkContext{std::move(microphone), viewer, caps_filter.get(), format},
        [](gpointer data) { delete static_cast<SinkContext *>(data); });
    auto *pipeline = GST_BIN(gst_object_get_parent(GST_OBJECT(webrtc)));
    gst_bin_add(pipeline, bin);
    // Playing at once and on its own, as the viewer's other elements (ConsoleEncoder::attach).
    gst_element_set_locked_state(bin, TRUE);
    gst_element_set_state(bin, GST_STATE_PLAYING);
    g_signal_connect_data(
        webrtc, "pad-added", G_CALLBACK(on_pad_added), gst_element_get_static_pad(bin, "sink"),
        [](gpointer pad, GClosure *) { gst_object_unref(pad); }, GConnectFlags(0));
    return std::unique_ptr<MicrophoneBranch>(new MicrophoneBranch(pipeline, bin));
}

bool MicrophoneBranch::owns(GstObject *object) {
    for (GstObject *parent = object; parent; parent = GST_OBJECT_PARENT(parent))
        if (g_str_has_prefix(GST_OBJECT_NAME(parent), kBinNamePrefix))
            return true;
    return false;
}

MicrophoneBranch::~MicrophoneBranch() {
    gst_element_set_state(bin_, GST_STATE_NULL);
    gst_bin_remove(pipeline_, bin_);
    gst_object_unref(pipeline_);
}

} // namespace vmcast::web
