#include "app/qmp_link.h"

#include "qemu/display_bus.h"
#include "qemu/qmp_client.h"

namespace vmcast::app {
namespace {

constexpr guint kRetryIntervalMs = 500;

} // namespace

QmpLink::~QmpLink() {
    // The worker still talking to the monitor finishes on its own, within QMP's deadline.
    if (auto *asking = std::get_if<AskingMonitor>(&state_))
        g_cancellable_cancel(asking->cancellable.get());
}

bool QmpLink::start(std::string &error) {
    // Blocking, and bounded by QMP's and the handshake's time limits (10 s each): the loop does
    // not run yet (clients of the page or Wayland socket wait), and a wrong socket is told
    // before vmcast says it runs.
    GObjectPtr<GDBusConnection> connection = qemu::open_p2p(qmp_socket_, error);
    if (!connection)
        return false;
    link(std::move(connection));
    return true;
}

void QmpLink::link(GObjectPtr<GDBusConnection> connection) {
    state_ = Linked{std::make_unique<DisplayLink>(std::move(connection), fleet_, [this] {
        g_message("QEMU at %s closed vmcast's display connection (QEMU stopped, or another "
                  "client took the display); connecting again once QEMU answers there",
                  qmp_socket_.c_str());
        // Only a linked state has a link to close; the link goes when the retry fires.
        if (auto *linked = std::get_if<Linked>(&state_))
            wait_for_qemu(std::move(linked->link));
    })};
}

void QmpLink::wait_for_qemu(std::unique_ptr<DisplayLink> closed) {
    state_ = Waiting{std::move(closed), attach_timeout(kRetryIntervalMs, on_retry_timer, this)};
}

gboolean QmpLink::on_retry_timer(gpointer data) {
    auto *self = static_cast<QmpLink *>(data);
    // Destroying the running source (with the closed link) is allowed: it is not run again.
    GObjectPtr<GCancellable> cancellable(g_cancellable_new());
    GCancellable *asking = cancellable.get();
    self->state_ = AskingMonitor{std::move(cancellable)};
    qemu::add_dbus_display_client_async(
        self->qmp_socket_, asking, [self](UniqueFd socket, std::string error) {
            self->monitor_answered(std::move(socket), std::move(error));
        });
    return G_SOURCE_REMOVE;
}

void QmpLink::monitor_answered(UniqueFd socket, std::string error) {
    if (!socket.valid()) {
        tell_failure(error);
        wait_for_qemu();
        return;
    }
    std::unique_ptr<qemu::PendingDisplayConnection> pending = qemu::PendingDisplayConnection::peer(
        std::move(socket),
        [this](GObjectPtr<GDBusConnection> connection, std::string why) {
            handshake_done(std::move(connection), std::move(why));
        },
        error);
    if (!pending) {
        tell_failure(error);
        wait_for_qemu();
        return;
    }
    state_ = Handshaking{std::move(pending)};
}

void QmpLink::handshake_done(GObjectPtr<GDBusConnection> connection, std::string error) {
    // PendingDisplayConnection lets whoever waited destroy it from inside this callback.
    if (!connection) {
        tell_failure(error);
        wait_for_qemu();
        return;
    }
    g_message("connected to QEMU at %s again", qmp_socket_.c_str());
    last_error_.clear();
    link(std::move(connection));
}

void QmpLink::tell_failure(const std::string &error) {
    // Once per reason: the same one every half second while QEMU is away says nothing new.
    if (error != last_error_)
        g_info("QEMU at %s: %s", qmp_socket_.c_str(), error.c_str());
    last_error_ = error;
}

} // namespace vmcast::app
