// Owning pointers for GLib and GObject types, so no g_object_unref or g_variant_unref is
// written by hand.
#pragma once

#include <gio/gio.h>
#include <glib-object.h>
#include <glib.h>

#include <memory>
#include <utility>

namespace vmcast {

struct GObjectUnref {
    void operator()(gpointer object) const { g_object_unref(object); }
};
template <typename T> using GObjectPtr = std::unique_ptr<T, GObjectUnref>;

struct GVariantUnref {
    void operator()(GVariant *variant) const { g_variant_unref(variant); }
};
using GVariantPtr = std::unique_ptr<GVariant, GVariantUnref>;

struct GBytesUnref {
    void operator()(GBytes *bytes) const { g_bytes_unref(bytes); }
};
using GBytesPtr = std::unique_ptr<GBytes, GBytesUnref>;

struct GDateTimeUnref {
    void operator()(GDateTime *time) const { g_date_time_unref(time); }
};
using GDateTimePtr = std::unique_ptr<GDateTime, GDateTimeUnref>;

struct GErrorFree {
    void operator()(GError *error) const { g_error_free(error); }
};
using GErrorPtr = std::unique_ptr<GError, GErrorFree>;

struct GFree {
    void operator()(gpointer memory) const { g_free(memory); }
};
using GCharPtr = std::unique_ptr<gchar, GFree>;

struct GStrvFree {
    void operator()(gchar **strv) const { g_strfreev(strv); }
};
using GStrvPtr = std::unique_ptr<gchar *, GStrvFree>;

struct GSourceDestroy {
    void operator()(GSource *source) const {
        g_source_destroy(source);
        g_source_unref(source);
    }
};
// A source attached to a context, detached and released on destruction.
using GSourcePtr = std::unique_ptr<GSource, GSourceDestroy>;

// A timeout on the default main context: callback(data) every interval_ms until it returns
// G_SOURCE_REMOVE or the returned pointer lets go of it.
inline GSourcePtr attach_timeout(guint interval_ms, GSourceFunc callback, gpointer data) {
    GSourcePtr source(g_timeout_source_new(interval_ms));
    g_source_set_callback(source.get(), callback, data, nullptr);
    g_source_attach(source.get(), nullptr);
    return source;
}

// A g_signal_connect that is disconnected when this object goes away.
class SignalConnection {
  public:
    SignalConnection() = default;
    SignalConnection(gpointer instance, const char *signal, GCallback callback, gpointer data)
        : instance_(instance), handler_(g_signal_connect(instance, signal, callback, data)) {}
    SignalConnection(const SignalConnection &) = delete;
    SignalConnection &operator=(const SignalConnection &) = delete;
    SignalConnection(SignalConnection &&other) noexcept
        : instance_(std::exchange(other.instance_, nullptr)),
          handler_(std::exchange(other.handler_, 0)) {}
    SignalConnection &operator=(SignalConnection &&other) noexcept {
        disconnect();
        instance_ = std::exchange(other.instance_, nullptr);
        handler_ = std::exchange(other.handler_, 0);
        return *this;
    }
    ~SignalConnection() { disconnect(); }

    void disconnect() {
        if (instance_ && handler_)
            g_signal_handler_disconnect(instance_, handler_);
        instance_ = nullptr;
        handler_ = 0;
    }

  private:
    gpointer instance_ = nullptr;
    gulong handler_ = 0;
};

} // namespace vmcast
