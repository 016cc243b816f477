#include "qemu/vm_watch.h"

#include <memory>
#include <optional>

#include "qemu/call_timeout.h"

namespace vmcast::qemu {
namespace {

// A new connection asks for org.qemu a moment after it appears (QEMU exports its objects
// first); two looks cover a fast and a slow start.
constexpr guint kFirstLookMs = 150;
constexpr guint kSecondLookMs = 800;
// A QEMU queued before its consoles are exported is asked again, for up to 5 s.
constexpr guint kRetryMs = 250;
constexpr unsigned kMaxAttempts = 20;

struct ObjectsRequest {
    VmWatch *watch;
    std::string bus_name;
};

bool is_unique_name(const char *name) {
    return name && name[0] == ':';
}

// Errors that mean "not a display (yet)", not "QEMU is broken".
bool not_exported_yet(GError *error) {
    const std::string name = remote_error_name(error);
    return name == "org.freedesktop.DBus.Error.UnknownObject" ||
           name == "org.freedesktop.DBus.Error.UnknownMethod" ||
           name == "org.freedesktop.DBus.Error.UnknownInterface";
}

} // namespace

VmWatch::VmWatch(GDBusConnection *bus, Events events)
    : bus_(bus), events_(std::move(events)), cancellable_(g_cancellable_new()) {}

VmWatch::~VmWatch() {
    g_cancellable_cancel(cancellable_.get());
    if (subscription_)
        g_dbus_connection_signal_unsubscribe(bus_, subscription_);
}

void VmWatch::start() {
    subscription_ = g_dbus_connection_signal_subscribe(
        bus_, "org.freedesktop.DBus", "org.freedesktop.DBus", "NameOwnerChanged",
        "/org/freedesktop/DBus", nullptr, G_DBUS_SIGNAL_FLAGS_NONE, on_name_owner_changed, this,
        nullptr);
    scan();
}

void VmWatch::on_name_owner_changed(GDBusConnection *, const gchar *, const gchar *, const gchar *,
                                    const gchar *, GVariant *parameters, gpointer data) {
    auto *self = static_cast<VmWatch *>(data);
    const gchar *name = nullptr, *old_owner = nullptr, *new_owner = nullptr;
    g_variant_get(parameters, "(&s&s&s)", &name, &old_owner, &new_owner);
    if (g_str_equal(name, kQemuBusName)) {
        self->scan();
        return;
    }
    if (!is_unique_name(name))
        return;
    if (!*new_owner) {
        auto gone = self->candidates_.find(name);
        if (gone == self->candidates_.end())
            return;
        const bool appeared = gone->second.reading == Reading::Appeared;
        self->candidates_.erase(gone);
        if (appeared)
            self->events_.vanished(name);
        return;
    }
    if (!*old_owner) {
        self->scan_after(self->scan_soon_, kFirstLookMs);
        self->scan_after(self->scan_later_, kSecondLookMs);
    }
}

void VmWatch::scan_after(ScanTimer &timer, guint delay_ms) {
    if (!timer.source)
        timer.source = attach_timeout(delay_ms, on_scan_timer, &timer);
}

gboolean VmWatch::on_scan_timer(gpointer data) {
    auto *timer = static_cast<ScanTimer *>(data);
    timer->source.reset();
    timer->watch->scan();
    return G_SOURCE_REMOVE;
}

gboolean VmWatch::on_retry_timer(gpointer data) {
    auto *candidate = static_cast<Candidate *>(data);
    candidate->retry.reset();
    candidate->watch->read(candidate->bus_name);
    return G_SOURCE_REMOVE;
}

void VmWatch::scan() {
    g_dbus_connection_call(
        bus_, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
        "ListQueuedOwners", g_variant_new("(s)", kQemuBusName), G_VARIANT_TYPE("(as)"),
        G_DBUS_CALL_FLAGS_NONE, kQemuCallTimeoutMs, cancellable_.get(), on_queue_listed, this);
}

void VmWatch::on_queue_listed(GObject *bus, GAsyncResult *result, gpointer data) {
    GError *raw_error = nullptr;
    GVariantPtr reply(g_dbus_connection_call_finish(G_DBUS_CONNECTION(bus), result, &raw_error));
    GErrorPtr error(raw_error);
    if (g_error_matches(error.get(), G_IO_ERROR, G_IO_ERROR_CANCELLED))
        return; // the watch is gone
    auto *self = static_cast<VmWatch *>(data);
    if (!reply) {
        // NameHasNoOwner: no QEMU on the bus now.
        if (remote_error_name(error.get()) != "org.freedesktop.DBus.Error.NameHasNoOwner")
            g_warning("cannot ask the bus who queues for %s: %s", kQemuBusName, error->message);
        return;
    }
    GVariantIter *owners = nullptr;
    g_variant_get(reply.get(), "(as)", &owners);
    const gchar *owner = nullptr;
    while (g_variant_iter_loop(owners, "&s", &owner)) {
        auto known = self->candidates_.find(owner);
        if (known == self->candidates_.end() || known->second.reading == Reading::Failed)
            self->read(owner);
    }
    g_variant_iter_free(owners);
}

void VmWatch::read(const std::string &bus_name) {
    Candidate &candidate = candidates_[bus_name];
    candidate.watch = this;
    candidate.bus_name = bus_name;
    candidate.reading = Reading::InFlight;
    candidate.attempts++;
    candidate.retry.reset();
    g_dbus_connection_call(bus_, bus_name.c_str(), kDisplayRoot,
                           "org.freedesktop.DBus.ObjectManager", "GetManagedObjects", nullptr,
                           G_VARIANT_TYPE("(a{oa{sa{sv}}})"), G_DBUS_CALL_FLAGS_NO_AUTO_START,
                           kQemuCallTimeoutMs, cancellable_.get(), on_objects_read,
                           new ObjectsRequest{this, bus_name});
}

void VmWatch::on_objects_read(GObject *bus, GAsyncResult *result, gpointer data) {
    std::unique_ptr<ObjectsRequest> request(static_cast<ObjectsRequest *>(data));
    GError *raw_error = nullptr;
    GVariantPtr reply(g_dbus_connection_call_finish(G_DBUS_CONNECTION(bus), result, &raw_error));
    GErrorPtr error(raw_error);
    if (g_error_matches(error.get(), G_IO_ERROR, G_IO_ERROR_CANCELLED))
        return; // the watch is gone
    request->watch->read_finished(request->bus_name, reply.get(), error.get());
}

void VmWatch::read_finished(const std::string &bus_name, GVariant *reply, GError *error) {
    auto found = candidates_.find(bus_name);
    if (found == candidates_.end())
        return; // it left the bus meanwhile
    Candidate &candidate = found->second;
    std::optional<VmInfo> vm;
    if (reply)
        vm = vm_from_managed_objects(reply, bus_name);
    const bool complete = vm && !vm->name.empty() && !vm->consoles.empty();
    if (complete) {
        candidate.reading = Reading::Appeared;
        events_.appeared(*vm);
        return;
    }
    if ((vm || not_exported_yet(error)) && candidate.attempts < kMaxAttempts) {
        candidate.reading = Reading::Retrying;
        candidate.retry = attach_timeout(kRetryMs, on_retry_timer, &candidate);
        return;
    }
    candidate.reading = Reading::Failed;
    g_warning("%s queues for %s but shows no VM display: %s", bus_name.c_str(), kQemuBusName,
              error ? error->message : "no VM object or no console");
}

} // namespace vmcast::qemu
