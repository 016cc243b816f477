#include <glib-unix.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <algorithm>
#include <map>

#include "app/commands.h"
#include "app/config_reload.h"
#include "app/service_notify.h"
#include "app/vm_session.h"
#include "app/web_tokens.h"
#include "compositor/compositor.h"
#include "frame/copy_stats.h"
#include "pipewire/pipewire_context.h"
#include "qemu/display_bus.h"
#include "qemu/vm_watch.h"
#include "web/web_publisher.h"

namespace vmcast::app {
namespace {

struct Daemon {
    GMainLoop *loop = nullptr;
    int exit_status = 0;
    std::string p2p_vm_name; // through QMP: the one VM, whose connection ending stops vmcast
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

// The VMs being streamed, by name: a name is one VM's nodes and page address, whichever QEMU
// process runs it.
class Fleet {
  public:
    Fleet(const Options &options, compositor::Compositor &compositor,
          pipewire::PipeWireContext &pipewire, GDBusConnection *bus, Daemon &daemon)
        : options_(options), compositor_(compositor), pipewire_(pipewire), bus_(bus),
          daemon_(daemon) {}
    void set_web(std::unique_ptr<web::WebPublisher> web) { web_ = std::move(web); }
    web::WebPublisher *web() { return web_.get(); }

    // false with a reason when the VM is not streamed (not asked for, a second VM of the same
    // name, no graphic console).
    bool add(const qemu::VmInfo &vm, std::string &why) {
        if (!wanted(vm.name)) {
            why = "VM '" + vm.name + "' is not one of the wanted VMs (--vm, [vms] names)";
            return false;
        }
        auto streamed = vms_.find(vm.name);
        if (streamed != vms_.end() && streamed->second->vm().bus_name == vm.bus_name)
            return true; // reported again after a reload
        if (streamed != vms_.end()) {
            why = "a second VM named '" + vm.name + "' (" + vm.bus_name +
                  ") is on the bus; only the first is streamed";
            return false;
        }
        const bool p2p = vm.bus_name.empty();
        auto session = std::make_unique<VmSession>(
            compositor_, pipewire_, bus_, vm, options_,
            [this, p2p, name = vm.name](uint32_t index) {
                // After Ctrl-C in a terminal QEMU goes away too: no news then. On the bus the
                // VM's going is seen by its name, and dealt with there.
                if (daemon_.stopping)
                    return;
                g_warning("console %u of VM '%s' lost its display connection", index, name.c_str());
                if (p2p)
                    daemon_.stop(1);
            });
        if (!session->has_graphic_console()) {
            why = "VM '" + vm.name + "' has no graphic console";
            return false;
        }
        VmSession &added = *session;
        vms_[vm.name] = std::move(session);
        if (web_) {
            web_->add_vm(added.web_vm());
            announce(vm.name);
        }
        g_message("streaming VM '%s'", vm.name.c_str());
        return true;
    }

    // On stdout, for people and scripts: the addresses to open (the same each time).
    void announce(const std::string &name) {
        printf("vmcast: watch VM '%s' at %s\n", name.c_str(),
               web_->url(web::Access::Full, name).c_str());
        printf("vmcast: view only: %s\n", web_->url(web::Access::View, name).c_str());
        fflush(stdout);
    }
    // The page's tokens changed (a reload).
    void announce_all() {
        for (const auto &[name, session] : vms_)
            announce(name);
    }

    // The wanted VMs changed (a reload): those no longer wanted go as if they stopped.
    void drop_unwanted() {
        for (auto vm = vms_.begin(); vm != vms_.end();) {
            if (wanted(vm->first)) {
                ++vm;
                continue;
            }
            g_message("VM '%s' is no longer wanted; its nodes are gone", vm->first.c_str());
            if (web_)
                web_->remove_vm(vm->first, "vmcast no longer streams the VM '" + vm->first + "'");
            vm = vms_.erase(vm);
        }
    }

    // The VM whose QEMU had this bus name stopped: its nodes go, its pages wait for it.
    void remove(const std::string &bus_name) {
        auto found = std::find_if(vms_.begin(), vms_.end(), [&](const auto &entry) {
            return entry.second->vm().bus_name == bus_name;
        });
        if (found == vms_.end())
            return;
        const std::string name = found->first;
        g_message("VM '%s' stopped; its nodes are gone until it is back", name.c_str());
        if (web_)
            web_->remove_vm(name, "the VM '" + name + "' stopped");
        vms_.erase(found);
    }

  private:
    bool wanted(const std::string &name) const {
        const auto &names = options_.vm_names;
        return names.empty() || std::find(names.begin(), names.end(), name) != names.end();
    }

    const Options &options_;
    compositor::Compositor &compositor_;
    pipewire::PipeWireContext &pipewire_;
    GDBusConnection *bus_;
    Daemon &daemon_;
    std::map<std::string, std::unique_ptr<VmSession>> vms_;
    // Declared after the VMs, so destroyed before them: its pages hold the consoles' input.
    std::unique_ptr<web::WebPublisher> web_;
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

void on_p2p_connection_closed(GDBusConnection *, gboolean, GError *, gpointer data) {
    auto *daemon = static_cast<Daemon *>(data);
    g_warning("VM '%s' closed the p2p display connection (QEMU exited, or another client "
              "took its place with add_client)",
              daemon->p2p_vm_name.c_str());
    daemon->stop(1, "the VM '" + daemon->p2p_vm_name + "' closed its display connection");
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
    // On a bus, every VM as it comes and goes; through QMP, the one QEMU at its other end.
    const bool p2p = !options.qmp_socket.empty();
    std::optional<ChosenVm> chosen;
    GObjectPtr<GDBusConnection> bus;
    if (p2p) {
        if (!(chosen = connect_to_vm(options, error)))
            return fail(error);
        bus = std::move(chosen->bus);
        daemon.p2p_vm_name = chosen->vm.name;
    } else if (!(bus = connect_to_display(options, error))) {
        return fail(error);
    }
    Options running = options; // what a reload changes
    // Declared after the compositor and PipeWire, so destroyed before them.
    Fleet fleet(running, *compositor, *pipewire, bus.get(), daemon);
    if (!options.web_listen.empty()) {
        std::unique_ptr<web::WebPublisher> web = start_web(options, *pipewire, error);
        if (!web)
            return fail(error);
        fleet.set_web(std::move(web));
    }

    SignalConnection p2p_closed;
    std::unique_ptr<qemu::VmWatch> watch;
    if (p2p) {
        std::string why;
        if (!fleet.add(chosen->vm, why))
            return fail(why);
        p2p_closed =
            SignalConnection(bus.get(), "closed", G_CALLBACK(on_p2p_connection_closed), &daemon);
    } else {
        watch = std::make_unique<qemu::VmWatch>(
            bus.get(),
            qemu::VmWatch::Events{
                .appeared =
                    [&fleet](const qemu::VmInfo &vm) {
                        std::string why;
                        if (!fleet.add(vm, why))
                            g_message("%s", why.c_str());
                    },
                .vanished = [&fleet](const std::string &bus_name) { fleet.remove(bus_name); }});
        watch->start();
        g_message("following the VMs on %s",
                  options.address.empty() ? "the session bus" : options.address.c_str());
    }
    std::function<void()> vms_changed; // none through QMP: the one VM cannot change
    if (watch)
        vms_changed = [&fleet, &watch] {
            fleet.drop_unwanted();
            if (watch) // gone once vmcast stops, while the pages get their goodbyes
                watch->report_again();
        };
    ConfigReload reload(running, {.vms_changed = std::move(vms_changed),
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
    watch.reset();
    if (web::WebPublisher *web = fleet.web()) {
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
