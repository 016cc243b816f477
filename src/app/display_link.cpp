#include "app/display_link.h"

#include "qemu/call_timeout.h"

namespace vmcast::app {
namespace {

bool is_peer_to_peer(GDBusConnection *connection) {
    return g_dbus_connection_get_unique_name(connection) == nullptr;
}

void add_to(Fleet &fleet, const qemu::VmInfo &vm, GDBusConnection *connection) {
    std::string why;
    if (!fleet.add(vm, connection, why))
        g_message("%s", why.c_str());
}

} // namespace

DisplayLink::DisplayLink(GObjectPtr<GDBusConnection> connection, Fleet &fleet,
                         std::function<void()> on_closed)
    : connection_(std::move(connection)), fleet_(fleet), on_closed_(std::move(on_closed)),
      closed_(connection_.get(), "closed", G_CALLBACK(on_connection_closed), this) {
    GDBusConnection *bus = connection_.get();
    if (is_peer_to_peer(bus)) {
        read_peer(kind_.emplace<PeerToPeer>());
        return;
    }
    auto &on_bus = kind_.emplace<OnBus>();
    on_bus.watch = std::make_unique<qemu::VmWatch>(
        bus, qemu::VmWatch::Events{
                 .appeared = [this, bus](const qemu::VmInfo &vm) { add_to(fleet_, vm, bus); },
                 .vanished = [this,
                              bus](const std::string &bus_name) { fleet_.remove(bus, bus_name); }});
    on_bus.watch->start();
}

DisplayLink::~DisplayLink() {
    if (auto *peer = std::get_if<PeerToPeer>(&kind_))
        g_cancellable_cancel(peer->reading.get());
    kind_ = OnBus{}; // the watch goes before the VMs it reported
    fleet_.remove_all(connection_.get());
}

void DisplayLink::read_peer(PeerToPeer &peer) {
    peer.reading.reset(g_cancellable_new());
    g_dbus_connection_call(connection_.get(), nullptr, qemu::kDisplayRoot,
                           "org.freedesktop.DBus.ObjectManager", "GetManagedObjects", nullptr,
                           G_VARIANT_TYPE("(a{oa{sa{sv}}})"), G_DBUS_CALL_FLAGS_NO_AUTO_START,
                           qemu::kQemuCallTimeoutMs, peer.reading.get(), on_peer_read, this);
}

void DisplayLink::on_peer_read(GObject *connection, GAsyncResult *result, gpointer data) {
    GError *raw_error = nullptr;
    GVariantPtr reply(
        g_dbus_connection_call_finish(G_DBUS_CONNECTION(connection), result, &raw_error));
    GErrorPtr error(raw_error);
    if (g_error_matches(error.get(), G_IO_ERROR, G_IO_ERROR_CANCELLED))
        return; // the link is gone
    auto *self = static_cast<DisplayLink *>(data);
    // A connection that shows no VM is of no use: closed, so whoever made it hears so (and
    // --qmp connects again).
    if (!reply) {
        g_warning("cannot read the display objects of QEMU: %s", error->message);
        g_dbus_connection_close(self->connection_.get(), nullptr, nullptr, nullptr);
        return;
    }
    qemu::VmInfo vm = qemu::vm_from_managed_objects(reply.get(), "");
    if (vm.name.empty()) {
        g_warning("QEMU's display connection shows no VM object");
        g_dbus_connection_close(self->connection_.get(), nullptr, nullptr, nullptr);
        return;
    }
    add_to(self->fleet_, vm, self->connection_.get());
}

void DisplayLink::on_connection_closed(GDBusConnection *connection, gboolean, GError *,
                                       gpointer data) {
    auto *self = static_cast<DisplayLink *>(data);
    self->fleet_.remove_all(connection);
    if (self->on_closed_)
        self->on_closed_();
}

} // namespace vmcast::app
