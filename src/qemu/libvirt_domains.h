// Follows the domains of a libvirt connection that show their display over D-Bus
// (<graphics type='dbus'/>): each running one is reported with where its display is, and
// reported stopped when its QEMU ends. libvirt's events arrive on the GLib loop (libvirt-glib's
// event implementation). When the libvirt daemon restarts, the domains' QEMUs go on: vmcast
// connects to libvirt again and reports only what changed meanwhile.
#pragma once

#include <functional>
#include <memory>
#include <map>
#include <string>
#include <variant>

#include <libvirt/libvirt.h>

#include "common/glib_ptr.h"
#include "common/unique_fd.h"
#include "qemu/domain_graphics.h"

namespace vmcast::qemu {

// Where a running domain's display is reached: its private bus, or a p2p socket libvirt handed
// to QEMU (virDomainOpenGraphicsFD), whose other end this is.
using DomainDisplayEnd = std::variant<DisplayOnBus, UniqueFd>;

class LibvirtDomains {
  public:
    struct Events {
        std::function<void(const std::string &domain, DomainDisplayEnd display)> running;
        // Only for domains reported running.
        std::function<void(const std::string &domain)> stopped;
    };

    // nullptr and a one-line reason in error when libvirt at uri cannot be reached. A
    // connection that libvirt allows only read-only still follows domains on buses.
    static std::unique_ptr<LibvirtDomains> connect(const std::string &uri, Events events,
                                                   std::string &error);
    LibvirtDomains(const LibvirtDomains &) = delete;
    LibvirtDomains &operator=(const LibvirtDomains &) = delete;
    ~LibvirtDomains();

    // Reports the domains running now and follows their events.
    void start();

  private:
    struct ConnectionClose {
        void operator()(virConnectPtr connection) const { virConnectClose(connection); }
    };
    using ConnectionPtr = std::unique_ptr<virConnect, ConnectionClose>;

    LibvirtDomains(std::string uri, Events events)
        : uri_(std::move(uri)), events_(std::move(events)) {}
    bool open(std::string &error);
    void close();
    // Reports domains that run and were not reported, and those reported that no longer run.
    void reconcile();
    void domain_started(virDomainPtr domain);
    void domain_stopped(const std::string &name);
    static int on_lifecycle(virConnectPtr, virDomainPtr domain, int event, int detail, void *self);
    static void on_connection_closed(virConnectPtr, int reason, void *self);
    static gboolean on_reconnect_timer(gpointer self);

    std::string uri_;
    Events events_;
    ConnectionPtr connection_;
    bool read_only_ = false;
    int lifecycle_callback_ = -1;
    // The domains reported running: name, and libvirt's id of the run (a domain that stopped
    // and started again while vmcast was away from libvirt has a new one).
    std::map<std::string, unsigned int> running_;
    GSourcePtr reconnect_; // while libvirt is away
};

} // namespace vmcast::qemu
