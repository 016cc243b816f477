// vmcast run --qmp: the one QEMU behind a QMP socket, over a p2p connection; when that QEMU
// exits, vmcast waits for a QEMU on the same socket again (a VM restarted by its manager) and
// connects to it, with the same node names and page address.
#pragma once

#include <memory>
#include <string>
#include <variant>

#include "app/display_link.h"
#include "app/fleet.h"
#include "common/glib_ptr.h"
#include "qemu/display_connection.h"

namespace vmcast::app {

class QmpLink {
  public:
    QmpLink(std::string qmp_socket, Fleet &fleet)
        : qmp_socket_(std::move(qmp_socket)), fleet_(fleet) {}
    QmpLink(const QmpLink &) = delete;
    QmpLink &operator=(const QmpLink &) = delete;
    ~QmpLink();

    // The first connection, before the main loop runs; false and a one-line reason in error
    // when QEMU cannot be reached, so that a wrong socket is told at once. QEMU serves one p2p
    // client: one that takes the display over (add_client) closes vmcast's connection, and
    // vmcast takes it back.
    bool start(std::string &error);

  private:
    struct Linked {
        std::unique_ptr<DisplayLink> link;
    };
    // QEMU away: the next try when retry fires. The closed link goes then (it told us).
    struct Waiting {
        std::unique_ptr<DisplayLink> closed;
        GSourcePtr retry;
    };
    // QMP's getfd and add_client, on a worker thread: a monitor that accepts and then stops
    // answering (a SIGSTOPped QEMU, another client on it) must not stall the loop.
    struct AskingMonitor {
        GObjectPtr<GCancellable> cancellable;
    };
    struct Handshaking {
        std::unique_ptr<qemu::PendingDisplayConnection> pending;
    };

    void link(GObjectPtr<GDBusConnection> connection);
    void wait_for_qemu(std::unique_ptr<DisplayLink> closed = {});
    void monitor_answered(UniqueFd socket, std::string error);
    void handshake_done(GObjectPtr<GDBusConnection> connection, std::string error);
    void tell_failure(const std::string &error);
    static gboolean on_retry_timer(gpointer self);

    std::string qmp_socket_;
    Fleet &fleet_;
    std::variant<std::monostate, Linked, Waiting, AskingMonitor, Handshaking> state_;
    std::string last_error_;
};

} // namespace vmcast::app
