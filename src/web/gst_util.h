// Small GStreamer helpers the web module's pipelines share.
#pragma once

#include <gst/gst.h>

#include <memory>

namespace vmcast::web {

struct GstObjectUnref {
    void operator()(gpointer object) const { gst_object_unref(object); }
};
template <typename T> using GstPtr = std::unique_ptr<T, GstObjectUnref>;

inline bool element_exists(const char *factory) {
    GstPtr<GstElementFactory> found(gst_element_factory_find(factory));
    return bool(found);
}

} // namespace vmcast::web
