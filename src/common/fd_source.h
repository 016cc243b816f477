// Another event loop (Wayland's, PipeWire's) run inside a GLib main context as a GSource: GLib
// polls the loop's fd and calls on_readable when it has something; before_poll runs before every
// poll, for work that has no fd to wake the loop.
#pragma once

#include <functional>
#include <utility>

#include <glib.h>

#include "common/glib_ptr.h"

namespace vmcast {

struct FdSourceCallbacks {
    std::function<void()> before_poll; // may be empty
    std::function<void()> on_readable;
};

inline GSourcePtr attach_fd_source(GMainContext *context, int fd, const char *name,
                                   FdSourceCallbacks callbacks) {
    struct FdSource {
        GSource source;
        FdSourceCallbacks *callbacks;
    };
    static GSourceFuncs funcs = {
        .prepare = [](GSource *source, gint *timeout) -> gboolean {
            FdSourceCallbacks &callbacks = *reinterpret_cast<FdSource *>(source)->callbacks;
            if (callbacks.before_poll)
                callbacks.before_poll();
            *timeout = -1;
            return FALSE;
        },
        .check = nullptr,
        .dispatch = [](GSource *source, GSourceFunc, gpointer) -> gboolean {
            reinterpret_cast<FdSource *>(source)->callbacks->on_readable();
            return G_SOURCE_CONTINUE;
        },
        .finalize = [](GSource *source) { delete reinterpret_cast<FdSource *>(source)->callbacks; },
        .closure_callback = nullptr,
        .closure_marshal = nullptr,
    };
    GSourcePtr source(g_source_new(&funcs, sizeof(FdSource)));
    reinterpret_cast<FdSource *>(source.get())->callbacks =
        new FdSourceCallbacks(std::move(callbacks));
    g_source_set_name(source.get(), name);
    g_source_add_unix_fd(source.get(), fd, GIOCondition(G_IO_IN | G_IO_ERR));
    // GLib takes a source's fds out of its poll while it dispatches unless it may recurse, and
    // putting them back signals the main loop's eventfd: a write and a read after every
    // dispatch. Nothing here runs a nested main loop.
    g_source_set_can_recurse(source.get(), TRUE);
    g_source_attach(source.get(), context);
    return source;
}

} // namespace vmcast
