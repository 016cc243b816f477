#include "web/playout_delay.h"

#include <gst/rtp/gstrtphdrext.h>

namespace vmcast::web {
namespace {

constexpr const char *kPlayoutDelayUri =
    "http://www.webrtc.org/experiments/rtp-hdrext/playout-delay";
// Three bytes: the minimum and the maximum delay, 12 bits each, in 10 ms units. Both 0.
constexpr gsize kPlayoutDelaySize = 3;
// The payloader numbers nothing itself; ids 1-14 fit the one-byte header form.
constexpr guint kExtensionId = 1;

struct ZeroPlayoutDelay {
    GstRTPHeaderExtension parent;
};

struct ZeroPlayoutDelayClass {
    GstRTPHeaderExtensionClass parent_class;
};

G_DEFINE_TYPE(ZeroPlayoutDelay, zero_playout_delay, GST_TYPE_RTP_HEADER_EXTENSION)

GstRTPHeaderExtensionFlags supported_flags(GstRTPHeaderExtension *) {
    return GstRTPHeaderExtensionFlags(GST_RTP_HEADER_EXTENSION_ONE_BYTE |
                                      GST_RTP_HEADER_EXTENSION_TWO_BYTE);
}

gsize max_size(GstRTPHeaderExtension *, const GstBuffer *) {
    return kPlayoutDelaySize;
}

gssize write_delay(GstRTPHeaderExtension *, const GstBuffer *, GstRTPHeaderExtensionFlags,
                   GstBuffer *, guint8 *data, gsize size) {
    if (size < kPlayoutDelaySize)
        return -1;
    data[0] = data[1] = data[2] = 0;
    return gssize(kPlayoutDelaySize);
}

// The browser sends no playout delay back; nothing to read.
gboolean read_delay(GstRTPHeaderExtension *, GstRTPHeaderExtensionFlags, const guint8 *, gsize,
                    GstBuffer *) {
    return TRUE;
}

void zero_playout_delay_class_init(ZeroPlayoutDelayClass *klass) {
    auto *extension_class = GST_RTP_HEADER_EXTENSION_CLASS(klass);
    extension_class->get_supported_flags = supported_flags;
    extension_class->get_max_size = max_size;
    extension_class->write = write_delay;
    extension_class->read = read_delay;
    gst_element_class_set_static_metadata(GST_ELEMENT_CLASS(klass), "Zero playout delay",
                                          GST_RTP_HDREXT_ELEMENT_CLASS,
                                          "Asks the receiver to show each frame at once", "vmcast");
    gst_rtp_header_extension_class_set_uri(extension_class, kPlayoutDelayUri);
}

void zero_playout_delay_init(ZeroPlayoutDelay *) {}

} // namespace

std::string zero_playout_delay_caps_field() {
    return "extmap-" + std::to_string(kExtensionId) + "=(string)" + kPlayoutDelayUri;
}

bool add_zero_playout_delay(GstElement *payloader) {
    if (!g_signal_lookup("add-extension", G_OBJECT_TYPE(payloader)))
        return false;
    auto *extension =
        GST_RTP_HEADER_EXTENSION(g_object_new(zero_playout_delay_get_type(), nullptr));
    gst_rtp_header_extension_set_id(extension, kExtensionId);
    g_signal_emit_by_name(payloader, "add-extension", extension);
    gst_object_unref(extension);
    return true;
}

} // namespace vmcast::web
