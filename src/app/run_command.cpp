#include <glib-unix.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <optional>

#include "app/commands.h"
#include "app/config_reload.h"
#include "app/display_link.h"
#include "app/fleet.h"
#include "app/libvirt_displays.h"
#include "app/qmp_link.h"
#include "app/service_notify.h"
#include "app/web_tokens.h"
#include "compositor/compositor.h"
#include "frame/copy_stats.h"
#include "pipewire/pipewire_context.h"
#include "qemu/display_bus.h"
#include "web/web_publisher.h"

namespace vmcast::app {
namespace {

struct Daemon {
    GMainLoop *loop = nullptr;
    std::optional<int> exit_status; // set by the first stop, which decides how vmcast exits
    std::string stop_reason = "vmcast stopped";

    void stop(int status) {
        if (!exit_status)
            exit_status = status;
        g_main_loop_quit(loop);
    }
};

gboolean on_stop_signal(gpointer data) {
    g_info("stopping");
    static_cast<Daemon *>(data)->stop(0);
    return G_SOURCE_CONTINUE;
}

gboolean on_stats_signal(gpointer) {
    g_message("frame path so far: %s", frame::copy_stats().summary().c_str());
    return G_SOURCE_CONTINUE;
}

std::unique_ptr<web::WebPublisher>
start_web(const Options &options, pipewire::PipeWireContext &pipewire, std::string &error) {
    web::WebOptions web_options;
    web_options.listen = options.web_listen;
    if (!load_web_tokens(options, web_options.tokens, error))
        return nullptr;
    if (!options.web_codec.empty())
        web_options.codec = options.web_codec == "vp8" ? web::Codec::VP8 : web::Codec::H264;
    web_options.bitrate_kbps = options.web_bitrate_kbps;
    auto publisher = std::make_unique<web::WebPublisher>(std::move(web_options), pipewire);
    if (!publisher->start(error))
        return nullptr;
    return publisher;
}

// Lets the event loop send what is queued (the pages' goodbyes) for at most a moment.
void flush_pending_io(std::chrono::milliseconds limit) {
    const auto end = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < end)
        if (!g_main_context_iteration(nullptr, FALSE))
            g_usleep(5000);
}

} // namespace

int run_daemon(const Options &options) {
    struct LoopUnref {
        void operator()(GMainLoop *loop) const { g_main_loop_unref(loop); }
    };
    std::unique_ptr<GMainLoop, LoopUnref> loop(g_main_loop_new(nullptr, FALSE));
    Daemon daemon;
    daemon.loop = loop.get();
    std::string error;

    std::unique_ptr<pipewire::PipeWireContext> pipewire =
        pipewire::PipeWireContext::connect(nullptr, error);
    if (!pipewire)
        return fail(error);
    std::unique_ptr<compositor::Compositor> compositor =
        compositor::Compositor::create(nullptr, error);
    if (!compositor)
        return fail(error);
    if (!options.wayland_socket.empty()) {
        if (!compositor->serve_wayland(options.wayland_socket, error))
            return fail(error);
        // On stdout, as the page's address: what a user or a script sets for the clients.
        printf("vmcast: Wayland clients: WAYLAND_DISPLAY=%s\n",
               compositor->wayland_server()->display_name().c_str());
        fflush(stdout);
    }
    Options running = options; // what a reload changes
    // Declared after the compositor and PipeWire, so destroyed before them.
    Fleet fleet(running, *compositor, *pipewire);
    if (!options.web_listen.empty()) {
        std::unique_ptr<web::WebPublisher> web = start_web(options, *pipewire, error);
        if (!web)
            return fail(error);
        fleet.set_web(std::move(web));
        fleet.announce_list();
    }
    // Where the VMs are: libvirt's domains, the QEMU behind a QMP socket, or a bus. Each is
    // followed as its VMs stop and start again. Declared after the fleet, so gone before it.
    std::unique_ptr<LibvirtDisplays> libvirt;
    std::unique_ptr<QmpLink> qmp;
    std::unique_ptr<DisplayLink> bus;
    if (!options.libvirt_uri.empty()) {
        if (!(libvirt = LibvirtDisplays::start(options.libvirt_uri, fleet, error)))
            return fail(error);
        g_message("following libvirt's domains at %s", options.libvirt_uri.c_str());
    } else if (!options.qmp_socket.empty()) {
        qmp = std::make_unique<QmpLink>(options.qmp_socket, fleet);
        if (!qmp->start(error))
            return fail(error);
    } else {
        GObjectPtr<GDBusConnection> connection = qemu::open_bus(options.address, error);
        if (!connection)
            return fail(error);
        bus = std::make_unique<DisplayLink>(std::move(connection), fleet, [&daemon, &options] {
            g_warning("lost the D-Bus bus %s",
                      options.address.empty() ? "(the session bus)" : options.address.c_str());
            daemon.stop_reason = "vmcast lost its D-Bus bus";
            daemon.stop(1);
        });
        g_message("following the VMs on %s",
                  options.address.empty() ? "the session bus" : options.address.c_str());
    }
    ConfigReload reload(running, {.vms_changed = [&fleet] { fleet.wanted_changed(); },
                                  .web = fleet.web(),
                                  .tokens_changed = [&fleet] { fleet.announce_all(); }});
    // After the reload's handler is in place: systemd may send SIGHUP as soon as it hears this.
    notify_ready();
    const guint sigint = g_unix_signal_add(SIGINT, on_stop_signal, &daemon);
    const guint sigterm = g_unix_signal_add(SIGTERM, on_stop_signal, &daemon);
    const guint sigusr1 = g_unix_signal_add(SIGUSR1, on_stats_signal, nullptr);
    g_main_loop_run(loop.get());
    notify_stopping();
    if (frame::copy_stats().damaged_bytes > 0)
        g_message("frame path: %s", frame::copy_stats().summary().c_str());
    g_source_remove(sigusr1);
    if (web::WebPublisher *web = fleet.web()) {
        web->close_all(daemon.stop_reason);
        flush_pending_io(std::chrono::milliseconds(200));
    }
    // Until here a second signal (a script's kill after the terminal's Ctrl-C) only repeats the
    // request: the goodbyes to the viewers are bounded, and then vmcast ends.
    g_source_remove(sigint);
    g_source_remove(sigterm);
    return daemon.exit_status.value_or(0);
}

} // namespace vmcast::app
