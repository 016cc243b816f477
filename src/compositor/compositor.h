// The headless wlroots compositor that every console output lives in: one wl_display, one
// headless backend, the renderer wlroots picks (GLES2 on a render node, pixman otherwise) and
// its allocator. The Wayland event loop runs inside the GLib main loop as a GSource.
#pragma once

#include <memory>
#include <string>

#include <glib.h>

#include "common/glib_ptr.h"
#include "compositor/export_buffers.h"
#include "compositor/wayland_server.h"

struct wl_display;
struct wlr_backend;
struct wlr_renderer;
struct wlr_allocator;

namespace vmcast::compositor {

class Compositor {
  public:
    // nullptr and a one-line reason in error when wlroots cannot start.
    static std::unique_ptr<Compositor> create(GMainContext *context, std::string &error);
    Compositor(const Compositor &) = delete;
    Compositor &operator=(const Compositor &) = delete;
    // Every ConsoleOutput of this compositor must be gone first.
    ~Compositor();

    wl_display *display() const { return display_; }
    wlr_backend *backend() const { return backend_; }
    wlr_renderer *renderer() const { return renderer_; }
    wlr_allocator *allocator() const { return allocator_; }
    bool renders_on_cpu() const { return renders_on_cpu_; }
    const char *renderer_name() const { return renders_on_cpu_ ? "pixman" : "GLES2"; }
    // Buffers frames are rendered into for consumers that take DMA-BUFs; nullptr when the
    // renderer cannot render into DMA-BUFs.
    ExportBufferFactory *export_buffers() const { return export_buffers_.get(); }
    // Serves Wayland clients on socket (a name in $XDG_RUNTIME_DIR or an absolute path), before
    // any output exists: false and a one-line reason in error when it cannot.
    bool serve_wayland(const std::string &socket, std::string &error);
    // Where outputs are advertised to clients; nullptr when vmcast serves none.
    WaylandServer *wayland_server() const { return wayland_server_.get(); }

  private:
    Compositor() = default;

    wl_display *display_ = nullptr;
    wlr_backend *backend_ = nullptr;
    wlr_renderer *renderer_ = nullptr;
    wlr_allocator *allocator_ = nullptr;
    bool renders_on_cpu_ = true;
    std::unique_ptr<ExportBufferFactory> export_buffers_;
    std::unique_ptr<WaylandServer> wayland_server_;
    GSourcePtr wayland_source_;
};

// Sends wlroots' own log lines to GLib logging (domain vmcast-wlroots).
void route_wlroots_log(bool verbose);

} // namespace vmcast::compositor
