#include <glib-unix.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <list>

#include "app/commands.h"
#include "app/console_session.h"
#include "compositor/compositor.h"
#include "frame/copy_stats.h"
#include "pipewire/pipewire_context.h"
#include "qemu/display_bus.h"
#include "web/web_publisher.h"

namespace vmcast::app {
namespace {

struct Daemon {
    GMainLoop *loop = nullptr;
    int exit_status = 0;
    std::string vm_name;
    std::string stop_reason = "vmcast stopped";
    bool stopping = false;

    void stop(int status, std::string reason = {}) {
        // The first stop decides how vmcast exits: QEMU going away after Ctrl-C is no failure.
        if (!stopping)
            exit_status = status;
        stopping = true;
        if (!reason.empty())
            stop_reason = std::move(reason);
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

void on_vm_vanished(GDBusConnection *, const gchar *, gpointer data) {
    auto *daemon = static_cast<Daemon *>(data);
    g_warning("VM '%s' left the bus", daemon->vm_name.c_str());
    daemon->stop(1, "the VM '" + daemon->vm_name + "' stopped");
}

void on_p2p_connection_closed(GDBusConnection *, gboolean, GError *, gpointer data) {
    auto *daemon = static_cast<Daemon *>(data);
    g_warning("VM '%s' closed the p2p display connection (QEMU exited, or another client "
              "took its place with add_client)",
              daemon->vm_name.c_str());
    daemon->stop(1, "the VM '" + daemon->vm_name + "' closed its display connection");
}

std::unique_ptr<web::WebPublisher>
start_web(const Options &options, pipewire::PipeWireContext &pipewire, GDBusConnection *bus,
          const qemu::VmInfo &vm, std::list<ConsoleSession> &sessions, std::string &error) {
    web::WebOptions web_options;
    web_options.listen = options.web_listen;
    if (!options.web_token_file.empty() &&
        !web::AccessTokens::load(options.web_token_file, web_options.tokens, error))
        return nullptr;
    if (!options.web_codec.empty())
        web_options.codec = options.web_codec == "vp8" ? web::Codec::VP8 : web::Codec::H264;
    web_options.bitrate_kbps = options.web_bitrate_kbps;
    std::vector<web::WebConsole> consoles;
    auto session = sessions.begin();
    for (const qemu::ConsoleInfo &console : vm.consoles) {
        if (!console.graphic())
            continue;
        ConsoleSession *streamed = &*session++;
        consoles.push_back({console.index, console.label, streamed->node_name(),
                            [streamed] { streamed->request_frame(FrameRequest::Viewer); },
                            &streamed->input()});
    }
    auto publisher = std::make_unique<web::WebPublisher>(std::move(web_options), pipewire, bus,
                                                         vm.bus_name, vm.name, std::move(consoles));
    if (!publisher->start(error))
        return nullptr;
    // On stdout, for people and scripts: the addresses to open.
    printf("vmcast: watch VM '%s' at %s\n", vm.name.c_str(),
           publisher->url(web::Access::Full).c_str());
    printf("vmcast: view only: %s\n", publisher->url(web::Access::View).c_str());
    fflush(stdout);
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
    std::optional<ChosenVm> chosen = connect_to_vm(options, error);
    if (!chosen)
        return fail(error);
    GObjectPtr<GDBusConnection> &bus = chosen->bus;
    const qemu::VmInfo &vm = chosen->vm;
    daemon.vm_name = vm.name;
    std::unique_ptr<compositor::Compositor> compositor =
        compositor::Compositor::create(nullptr, error);
    if (!compositor)
        return fail(error);

    // Declared after the compositor and PipeWire, so destroyed before them.
    std::list<ConsoleSession> sessions;
    for (const qemu::ConsoleInfo &console : vm.consoles) {
        if (!console.graphic())
            continue;
        ConsoleSession &session = sessions.emplace_back(
            *compositor, *pipewire, bus.get(), vm, console, options.max_fps, options.cursor_mode,
            [&daemon, console] {
                // After Ctrl-C in a terminal QEMU goes away too: no news then.
                if (daemon.stopping)
                    return;
                g_warning("console %u lost its display connection", console.index);
                daemon.stop(1);
            });
        session.start();
        g_info("streaming console %u of VM '%s' as PipeWire node %s once QEMU shows it",
               console.index, vm.name.c_str(), session.node_name().c_str());
    }
    if (sessions.empty())
        return fail("VM '" + vm.name + "' has no graphic console");
    // Declared after the sessions: its viewers consume their nodes and send to their consoles.
    std::unique_ptr<web::WebPublisher> web;
    if (!options.web_listen.empty() &&
        !(web = start_web(options, *pipewire, bus.get(), vm, sessions, error)))
        return fail(error);

    // The VM goes away with its bus name, or on a p2p connection with the connection itself.
    guint name_watch = 0;
    SignalConnection p2p_closed;
    if (vm.bus_name.empty())
        p2p_closed =
            SignalConnection(bus.get(), "closed", G_CALLBACK(on_p2p_connection_closed), &daemon);
    else
        name_watch = g_bus_watch_name_on_connection(bus.get(), vm.bus_name.c_str(),
                                                    G_BUS_NAME_WATCHER_FLAGS_NONE, nullptr,
                                                    on_vm_vanished, &daemon, nullptr);
    const guint sigint = g_unix_signal_add(SIGINT, on_stop_signal, &daemon);
    const guint sigterm = g_unix_signal_add(SIGTERM, on_stop_signal, &daemon);
    const guint sigusr1 = g_unix_signal_add(SIGUSR1, on_stats_signal, nullptr);
    g_main_loop_run(loop.get());
    if (frame::copy_stats().damaged_bytes > 0)
        g_message("frame path: %s", frame::copy_stats().summary().c_str());
    g_source_remove(sigusr1);
    if (name_watch)
        g_bus_unwatch_name(name_watch);
    if (web) {
        web->close_all(daemon.stop_reason);
        flush_pending_io(std::chrono::milliseconds(200));
    }
    // Until here a second signal (a script's kill after the terminal's Ctrl-C) only repeats the
    // request: the goodbyes to the viewers are bounded, and then vmcast ends.
    g_source_remove(sigint);
    g_source_remove(sigterm);
    return daemon.exit_status;
}

} // namespace vmcast::app
