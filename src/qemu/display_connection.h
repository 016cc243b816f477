// Opening a connection to a VM's display without blocking the loop: the D-Bus handshake on a
// peer-to-peer socket QEMU was given (QMP add_client, or libvirt's virDomainOpenGraphicsFD), or
// joining a message bus at an address (libvirt's private per-VM bus).
#pragma once

#include <functional>
#include <string>

#include <gio/gio.h>

#include "common/glib_ptr.h"
#include "common/unique_fd.h"

namespace vmcast::qemu {

class PendingDisplayConnection {
  public:
    // connection, or nullptr and a one-line reason. Never called after destruction.
    using Done = std::function<void(GObjectPtr<GDBusConnection> connection, std::string error)>;

    // The handshake on our end of a p2p socket, naming no uid: QEMU takes whoever made the
    // socket pair for the client, which may be another user (libvirtd). QEMU runs its side on
    // its own schedule: a QEMU that does not finish within a time limit gives an error instead
    // of a hang. nullptr and a one-line reason in error when the socket cannot be used at all.
    static std::unique_ptr<PendingDisplayConnection> peer(UniqueFd socket, Done done,
                                                          std::string &error);
    // A message bus at a D-Bus address.
    static std::unique_ptr<PendingDisplayConnection> bus(const std::string &address, Done done);

    PendingDisplayConnection(const PendingDisplayConnection &) = delete;
    PendingDisplayConnection &operator=(const PendingDisplayConnection &) = delete;
    // Cancels what is still under way.
    ~PendingDisplayConnection();

  private:
    PendingDisplayConnection(std::string what, Done done);
    // Each answer gets its own reference to the cancellable, which names the waiting object
    // until that object is gone: an answer that arrives later finds nobody.
    GCancellable *answer_token();
    static void on_finished(GObject *, GAsyncResult *result, gpointer token);
    static gboolean on_timeout(gpointer self);

    std::string what_; // for errors: "QEMU" or the address
    Done done_;
    GObjectPtr<GCancellable> cancellable_;
    GSourcePtr timeout_;
};

} // namespace vmcast::qemu
