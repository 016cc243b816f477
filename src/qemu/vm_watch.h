// Follows the VMs on a message bus as they come and go. Each QEMU queues for the name org.qemu
// on its own connection, and the bus announces only who holds a name, not who joins its queue:
// so the watch asks for the queue (ListQueuedOwners) when org.qemu changes hands and shortly
// after any new connection appears, and a VM is gone when its connection's unique name goes.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <variant>

#include <gio/gio.h>

#include "common/glib_ptr.h"
#include "qemu/display_bus.h"

namespace vmcast::qemu {

class VmWatch {
  public:
    struct Events {
        // A VM whose display objects (the VM and its consoles) have been read.
        std::function<void(const VmInfo &vm)> appeared;
        // Only for VMs that appeared: their connection left the bus.
        std::function<void(const std::string &bus_name)> vanished;
    };

    // bus is a message bus (the session bus, or one at an address); it outlives the watch.
    VmWatch(GDBusConnection *bus, Events events);
    VmWatch(const VmWatch &) = delete;
    VmWatch &operator=(const VmWatch &) = delete;
    ~VmWatch();

    // Reads the VMs already there (each reported as it is read) and starts following the bus.
    void start();
    // Reports each VM that appeared and is still there again, as it was read (for a user who
    // now wants VMs they did not before).
    void report_again();

  private:
    struct InFlight {}; // GetManagedObjects asked, no answer yet
    struct Retrying {}; // QEMU has not exported its display yet: asked again soon
    struct Appeared {   // reported to events_.appeared
        VmInfo vm;
    };
    struct Failed {}; // its answer was an error or not a VM: asked again at the next scan
    using Reading = std::variant<InFlight, Retrying, Appeared, Failed>;
    struct Candidate {
        VmWatch *watch = nullptr;
        std::string bus_name;
        Reading reading = InFlight{};
        unsigned attempts = 0;
        GSourcePtr retry;
    };

    // Scans after a new connection appeared, each with the watch it belongs to.
    struct ScanTimer {
        VmWatch *watch;
        GSourcePtr source;
    };

    static void on_name_owner_changed(GDBusConnection *, const gchar *, const gchar *,
                                      const gchar *, const gchar *, GVariant *parameters,
                                      gpointer self);
    static void on_queue_listed(GObject *bus, GAsyncResult *result, gpointer self);
    static void on_objects_read(GObject *bus, GAsyncResult *result, gpointer request);
    static gboolean on_scan_timer(gpointer timer_slot);
    static gboolean on_retry_timer(gpointer candidate);
    void scan();
    void scan_after(ScanTimer &timer, guint delay_ms);
    void read(const std::string &bus_name);
    void read_finished(const std::string &bus_name, GVariant *reply, GError *error);

    GDBusConnection *bus_;
    Events events_;
    guint subscription_ = 0;
    // Cancelled on destruction: answers still on their way then find nothing to touch.
    GObjectPtr<GCancellable> cancellable_;
    std::map<std::string, Candidate> candidates_; // by unique name, each queued owner seen
    ScanTimer scan_soon_{this, nullptr};
    ScanTimer scan_later_{this, nullptr};
};

} // namespace vmcast::qemu
