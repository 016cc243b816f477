#include "qemu/display_connection.h"

namespace vmcast::qemu {
namespace {

constexpr guint kTimeoutMs = 10000;
constexpr const char *kWaiterKey = "vmcast-waiter";

} // namespace

PendingDisplayConnection::PendingDisplayConnection(std::string what, Done done)
    : what_(std::move(what)), done_(std::move(done)), cancellable_(g_cancellable_new()),
      timeout_(attach_timeout(kTimeoutMs, on_timeout, this)) {
    g_object_set_data(G_OBJECT(cancellable_.get()), kWaiterKey, this);
}

PendingDisplayConnection::~PendingDisplayConnection() {
    g_object_set_data(G_OBJECT(cancellable_.get()), kWaiterKey, nullptr);
    g_cancellable_cancel(cancellable_.get());
}

GCancellable *PendingDisplayConnection::answer_token() {
    return G_CANCELLABLE(g_object_ref(cancellable_.get()));
}

std::unique_ptr<PendingDisplayConnection> PendingDisplayConnection::peer(UniqueFd socket, Done done,
                                                                         std::string &error) {
    GError *raw_error = nullptr;
    GObjectPtr<GSocket> wrapped(g_socket_new_from_fd(socket.get(), &raw_error));
    GErrorPtr wrap_error(raw_error);
    if (!wrapped) {
        error = std::string("cannot use the display socket: ") + wrap_error->message;
        return nullptr;
    }
    socket.release(); // the GSocket owns it now
    std::unique_ptr<PendingDisplayConnection> pending(
        new PendingDisplayConnection("QEMU", std::move(done)));
    GObjectPtr<GSocketConnection> stream(
        g_socket_connection_factory_create_connection(wrapped.get()));
    // AUTH EXTERNAL with an empty identity (CROSS_NAMESPACE): QEMU's server takes the peer
    // credentials of the socket for ours, and those are whoever made the pair (libvirtd: root),
    // so it refuses any uid we would name that is not that one. GLib 2.74 implements the flag
    // but g_dbus_connection_new() rejects it in a precondition (fixed in 2.83.1), so the
    // connection is constructed as the GObject. GLib's own handshake also negotiates fd
    // passing, which RegisterListener needs.
    g_async_initable_new_async(G_TYPE_DBUS_CONNECTION, G_PRIORITY_DEFAULT,
                               pending->cancellable_.get(), on_finished, pending->answer_token(),
                               "stream", stream.get(), "flags",
                               GDBusConnectionFlags(G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT |
                                                    G_DBUS_CONNECTION_FLAGS_CROSS_NAMESPACE),
                               nullptr);
    return pending;
}

std::unique_ptr<PendingDisplayConnection> PendingDisplayConnection::bus(const std::string &address,
                                                                        Done done) {
    std::unique_ptr<PendingDisplayConnection> pending(
        new PendingDisplayConnection("the bus at " + address, std::move(done)));
    g_dbus_connection_new_for_address(
        address.c_str(),
        GDBusConnectionFlags(G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT |
                             G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION),
        nullptr, pending->cancellable_.get(), on_finished, pending->answer_token());
    return pending;
}

void PendingDisplayConnection::on_finished(GObject *, GAsyncResult *result, gpointer token) {
    GObjectPtr<GCancellable> cancellable(G_CANCELLABLE(token));
    GError *raw_error = nullptr;
    GObjectPtr<GDBusConnection> connection(g_dbus_connection_new_finish(result, &raw_error));
    GErrorPtr error(raw_error);
    auto *self = static_cast<PendingDisplayConnection *>(
        g_object_get_data(G_OBJECT(cancellable.get()), kWaiterKey));
    if (!self)
        return; // whoever waited let go of it
    self->timeout_.reset();
    // Taken out first: whoever waited may let go of this object from inside the callback.
    Done done = std::move(self->done_);
    if (!connection) {
        done(nullptr, "cannot connect to " + self->what_ + ": " + error->message);
        return;
    }
    // vmcast decides itself when to stop; QEMU or a bus going away must not end the process.
    g_dbus_connection_set_exit_on_close(connection.get(), FALSE);
    done(std::move(connection), {});
}

gboolean PendingDisplayConnection::on_timeout(gpointer data) {
    auto *self = static_cast<PendingDisplayConnection *>(data);
    // Told here, whether or not an answer ever comes (a late one finds nobody).
    g_object_set_data(G_OBJECT(self->cancellable_.get()), kWaiterKey, nullptr);
    g_cancellable_cancel(self->cancellable_.get());
    Done done = std::move(self->done_); // whoever waited may let go of this object in there
    done(nullptr, self->what_ + " did not finish the D-Bus handshake within " +
                      std::to_string(kTimeoutMs / 1000) + " s");
    return G_SOURCE_REMOVE;
}

} // namespace vmcast::qemu
