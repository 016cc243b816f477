#include "web/pcm_caps.h"

#include <gst/audio/audio.h>

#include <cstring>

namespace vmcast::web {
namespace {

const char *gst_format(const PcmFormat &format) {
    const bool be = format.big_endian;
    switch (format.kind) {
    case SampleKind::Float:
        return be ? "F32BE" : "F32LE";
    case SampleKind::Signed:
        return format.bits == 8    ? "S8"
               : format.bits == 16 ? (be ? "S16BE" : "S16LE")
                                   : (be ? "S32BE" : "S32LE");
    case SampleKind::Unsigned:
        return format.bits == 8    ? "U8"
               : format.bits == 16 ? (be ? "U16BE" : "U16LE")
                                   : (be ? "U32BE" : "U32LE");
    }
    return "S16LE";
}

} // namespace

GstCaps *pcm_caps(const PcmFormat &format) {
    GstCaps *caps =
        gst_caps_new_simple("audio/x-raw", "format", G_TYPE_STRING, gst_format(format), "rate",
                            G_TYPE_INT, int(format.rate), "channels", G_TYPE_INT,
                            int(format.channels), "layout", G_TYPE_STRING, "interleaved", nullptr);
    if (format.channels > 2)
        gst_caps_set_simple(caps, "channel-mask", GST_TYPE_BITMASK,
                            gst_audio_channel_get_fallback_mask(int(format.channels)), nullptr);
    return caps;
}

std::optional<PcmFormat> pcm_format_of(const GstCaps *caps) {
    GstAudioInfo info;
    if (!caps || !gst_audio_info_from_caps(&info, caps) ||
        GST_AUDIO_INFO_LAYOUT(&info) != GST_AUDIO_LAYOUT_INTERLEAVED)
        return std::nullopt;
    const GstAudioFormatInfo *sample = info.finfo;
    PcmFormat format;
    format.kind = GST_AUDIO_FORMAT_INFO_IS_FLOAT(sample)    ? SampleKind::Float
                  : GST_AUDIO_FORMAT_INFO_IS_SIGNED(sample) ? SampleKind::Signed
                                                            : SampleKind::Unsigned;
    format.bits = uint8_t(GST_AUDIO_FORMAT_INFO_WIDTH(sample));
    format.big_endian = GST_AUDIO_FORMAT_INFO_ENDIANNESS(sample) == G_BIG_ENDIAN && format.bits > 8;
    format.rate = uint32_t(GST_AUDIO_INFO_RATE(&info));
    format.channels = uint8_t(GST_AUDIO_INFO_CHANNELS(&info));
    // Only what pcm_caps makes: the same name back.
    if (std::strcmp(gst_format(format), GST_AUDIO_FORMAT_INFO_NAME(sample)) != 0)
        return std::nullopt;
    return format;
}

} // namespace vmcast::web
