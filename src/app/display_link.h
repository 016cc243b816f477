// One connection to VM displays, feeding the fleet: a message bus (every VM on it, as VMs come
// and go) or a p2p connection (the one QEMU at its other end). Its VMs leave the fleet when the
// connection closes or the link is let go.
#pragma once

#include <functional>
#include <memory>
#include <variant>

#include "app/fleet.h"
#include "common/glib_ptr.h"
#include "qemu/vm_watch.h"

namespace vmcast::app {

class DisplayLink {
  public:
    // on_closed: the connection closed (QEMU exited, the bus went away); the link is not used
    // again and may be destroyed, though not from inside on_closed.
    DisplayLink(GObjectPtr<GDBusConnection> connection, Fleet &fleet,
                std::function<void()> on_closed = {});
    DisplayLink(const DisplayLink &) = delete;
    DisplayLink &operator=(const DisplayLink &) = delete;
    ~DisplayLink();

  private:
    // A bus: its VMs, followed by their names there.
    struct OnBus {
        std::unique_ptr<qemu::VmWatch> watch;
    };
    // A p2p connection: its one VM, read once (the read still in flight is cancelled).
    struct PeerToPeer {
        GObjectPtr<GCancellable> reading;
    };

    void read_peer(PeerToPeer &peer);
    static void on_peer_read(GObject *connection, GAsyncResult *result, gpointer self);
    static void on_connection_closed(GDBusConnection *, gboolean, GError *, gpointer self);

    GObjectPtr<GDBusConnection> connection_;
    Fleet &fleet_;
    std::function<void()> on_closed_;
    std::variant<OnBus, PeerToPeer> kind_;
    SignalConnection closed_;
};

} // namespace vmcast::app
