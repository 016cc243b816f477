// vmcast run --qmp: the one QEMU behind a QMP socket, over a p2p connection; when that QEMU
// exits, vmcast waits for a QEMU on the same socket again (a VM restarted by its manager) and
// connects to it, with the same node names and page address.
#pragma once

#include <memory>
#include <string>

#include "app/display_link.h"
#include "app/fleet.h"

namespace vmcast::app {

class QmpLink {
  public:
    QmpLink(std::string qmp_socket, Fleet &fleet)
        : qmp_socket_(std::move(qmp_socket)), fleet_(fleet) {}
    QmpLink(const QmpLink &) = delete;
    QmpLink &operator=(const QmpLink &) = delete;

    // The first connection; false and a one-line reason in error when QEMU cannot be reached,
    // so that a wrong socket is told at once. QEMU serves one p2p client: one that takes the
    // display over (add_client) closes vmcast's connection, and vmcast takes it back.
    bool start(std::string &error);

  private:
    bool try_connect(std::string &error);
    static gboolean on_retry_timer(gpointer self);

    std::string qmp_socket_;
    Fleet &fleet_;
    std::unique_ptr<DisplayLink> link_;
    GSourcePtr retry_; // while QEMU is away
    std::string last_error_;
};

} // namespace vmcast::app
