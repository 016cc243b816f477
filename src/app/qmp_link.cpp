#include "app/qmp_link.h"

#include "qemu/display_bus.h"

namespace vmcast::app {
namespace {

constexpr guint kRetryIntervalMs = 500;

} // namespace

bool QmpLink::start(std::string &error) {
    return try_connect(error);
}

bool QmpLink::try_connect(std::string &error) {
    // Blocking, and bounded: connecting to a socket nobody listens on fails at once, and a QEMU
    // that listens answers within QMP's and the handshake's time limits (10 s each). The whole
    // loop waits meanwhile, which with --qmp serves this one VM only.
    GObjectPtr<GDBusConnection> connection = qemu::open_p2p(qmp_socket_, error);
    if (!connection)
        return false;
    link_ = std::make_unique<DisplayLink>(std::move(connection), fleet_, [this] {
        g_message("QEMU at %s closed vmcast's display connection (QEMU stopped, or another "
                  "client took the display); connecting again once QEMU answers there",
                  qmp_socket_.c_str());
        retry_ = attach_timeout(kRetryIntervalMs, on_retry_timer, this);
    });
    return true;
}

gboolean QmpLink::on_retry_timer(gpointer data) {
    auto *self = static_cast<QmpLink *>(data);
    self->link_.reset();
    std::string error;
    if (!self->try_connect(error)) {
        if (error != self->last_error_)
            g_info("QEMU at %s: %s", self->qmp_socket_.c_str(), error.c_str());
        self->last_error_ = error;
        return G_SOURCE_CONTINUE;
    }
    g_message("connected to QEMU at %s again", self->qmp_socket_.c_str());
    self->last_error_.clear();
    self->retry_.reset(); // destroying the running source is allowed; it is not run again
    return G_SOURCE_REMOVE;
}

} // namespace vmcast::app
