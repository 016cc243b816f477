#include "compositor/compositor.h"

#include <cstdio>
#include <cstring>

#include "common/fd_source.h"
#include "compositor/export_buffers.h"
#include "compositor/memfd_allocator.h"
#include "compositor/wlr.h"

namespace vmcast::compositor {
namespace {

wlr_log_importance wlroots_log_level = WLR_ERROR;

void log_wlroots_line(wlr_log_importance importance, const char *format, va_list args) {
    // wlroots leaves filtering to the callback.
    if (importance > wlroots_log_level)
        return;
    char line[1024];
    vsnprintf(line, sizeof(line), format, args);
    GLogLevelFlags level = G_LOG_LEVEL_DEBUG;
    // wlroots calls a machine without DRM devices an error; for vmcast it is the usual headless
    // host, and "compositor renders with pixman" says what follows from it.
    if (importance == WLR_ERROR && !strstr(line, "drmGetDevices2 failed"))
        level = G_LOG_LEVEL_WARNING;
    else if (importance == WLR_INFO)
        level = G_LOG_LEVEL_INFO;
    g_log_structured("vmcast-wlroots", level, "MESSAGE", "%s", line);
}

} // namespace

void route_wlroots_log(bool verbose) {
    // wlroots' debug level logs every frame tick of every output; info is what helps a person.
    wlroots_log_level = verbose ? WLR_INFO : WLR_ERROR;
    wlr_log_init(wlroots_log_level, log_wlroots_line);
}

std::unique_ptr<Compositor> Compositor::create(GMainContext *context, std::string &error) {
    std::unique_ptr<Compositor> compositor(new Compositor());
    compositor->display_ = wl_display_create();
    if (!compositor->display_) {
        error = "cannot create a Wayland display";
        return nullptr;
    }
    compositor->backend_ = wlr_headless_backend_create(compositor->display_);
    if (!compositor->backend_) {
        error = "cannot create the wlroots headless backend";
        return nullptr;
    }
    compositor->renderer_ = wlr_renderer_autocreate(compositor->backend_);
    if (!compositor->renderer_) {
        error = "wlroots found no renderer (neither GLES2 on a render node nor pixman)";
        return nullptr;
    }
    compositor->renders_on_cpu_ = wlr_renderer_is_pixman(compositor->renderer_);
    // pixman would get wlroots' shm allocator, which xdg-desktop-portal-wlr 0.7 cannot cast
    // from (memfd_allocator.h); GLES2 keeps wlroots' GBM one, whose buffers are DMA-BUFs.
    compositor->allocator_ =
        compositor->renders_on_cpu_
            ? create_memfd_allocator()
            : wlr_allocator_autocreate(compositor->backend_, compositor->renderer_);
    if (!compositor->allocator_) {
        error = "wlroots found no buffer allocator for its renderer";
        return nullptr;
    }
    if (!wlr_backend_start(compositor->backend_)) {
        error = "cannot start the wlroots headless backend";
        return nullptr;
    }
    // Idle callbacks that wlroots queues from GLib-side code (wlr_output_schedule_frame after a
    // D-Bus update, say) have no fd to wake the loop: they run before each poll.
    wl_event_loop *events = wl_display_get_event_loop(compositor->display_);
    wl_display *display = compositor->display_;
    compositor->wayland_source_ =
        attach_fd_source(context, wl_event_loop_get_fd(events), "wayland",
                         {.before_poll =
                              [events, display] {
                                  wl_event_loop_dispatch_idle(events);
                                  wl_display_flush_clients(display);
                              },
                          .on_readable = [events] { wl_event_loop_dispatch(events, 0); }});
    g_info("compositor renders with %s", compositor->renderer_name());
    compositor->export_buffers_ = create_export_buffer_factory(*compositor);
    return compositor;
}

bool Compositor::serve_wayland(const std::string &socket, std::string &error) {
    wayland_server_ = WaylandServer::open(display_, renderer_, socket, error);
    return wayland_server_ != nullptr;
}

Compositor::~Compositor() {
    wayland_source_.reset();
    // Clients go while the globals they hold are whole.
    if (display_)
        wl_display_destroy_clients(display_);
    wayland_server_.reset();
    if (backend_)
        wlr_backend_destroy(backend_);
    if (allocator_)
        wlr_allocator_destroy(allocator_);
    if (renderer_)
        wlr_renderer_destroy(renderer_);
    if (display_)
        wl_display_destroy(display_);
}

} // namespace vmcast::compositor
