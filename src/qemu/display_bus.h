// Finding VMs that publish their display on D-Bus: the session bus, or a bus address such as
// libvirt's private per-VM bus, where each QEMU owns (or queues for) the name org.qemu; or a
// peer-to-peer connection to one QEMU (-display dbus,p2p=yes), handed over through QMP.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <gio/gio.h>

#include "common/glib_ptr.h"

namespace vmcast::qemu {

// The name each QEMU owns or queues for on a bus, and where its display objects live.
inline constexpr const char *kQemuBusName = "org.qemu";
inline constexpr const char *kDisplayRoot = "/org/qemu/Display1";

struct ConsoleInfo {
    uint32_t index = 0;
    std::string label;          // device model, e.g. "VGA"
    std::string type;           // "Graphic" or "Text"
    std::string device_address; // e.g. "pci/0000/02.0"
    uint32_t head = 0;
    uint32_t width = 0;
    uint32_t height = 0;

    bool graphic() const { return type == "Graphic"; }
};

// Whether QEMU publishes the VM's sound (-audiodev dbus), and whether its Audio object has the
// Interfaces property of 8.1+. Before 8.0 (e74fec9aa4) QEMU keys audio listeners by a sender
// name that peer-to-peer connections lack: 7.2 dies on a registration there (observed). 8.0
// cannot be told from 7.x, so over p2p vmcast takes the sound from 8.1 on.
enum class AudioOut { None, Before81, Since81 };

struct VmInfo {
    std::string bus_name; // the unique name of QEMU's connection; empty on a p2p connection
    std::string name;
    std::string uuid;
    std::vector<ConsoleInfo> consoles;
    AudioOut audio = AudioOut::None;
};

// Opens the session bus (empty address) or the bus at address. nullptr and a one-line reason
// in error on failure.
GObjectPtr<GDBusConnection> open_bus(const std::string &address, std::string &error);

// Gives QEMU a peer-to-peer D-Bus client through its QMP monitor socket and completes the
// D-Bus handshake, within a time limit. The connection has no bus names; it closes when QEMU
// exits or another client takes its place with add_client. nullptr and a one-line reason in
// error on failure.
GObjectPtr<GDBusConnection> open_p2p(const std::string &qmp_socket, std::string &error);

// The D-Bus name of a remote error (org.freedesktop.DBus.Error.NameHasNoOwner...), or empty
// for an error that did not come from the other end.
std::string remote_error_name(GError *error);

// The VM and its consoles in a reply to GetManagedObjects on /org/qemu/Display1, type
// (a{oa{sa{sv}}}). Objects that are not QEMU's are skipped; a missing VM object leaves the name
// empty.
VmInfo vm_from_managed_objects(GVariant *reply, const std::string &bus_name);

// Every VM queued on org.qemu, in queue order; on a p2p connection, the VM at the other end.
// Empty with error set when the bus or QEMU cannot say.
std::vector<VmInfo> list_vms(GDBusConnection *bus, std::string &error);

// The VM to work with: the one named wanted_name, or the only one when wanted_name is empty.
// nullopt-like empty bus_name and error set when there is none or the choice is ambiguous.
VmInfo choose_vm(GDBusConnection *bus, const std::string &wanted_name, std::string &error);

// The PipeWire node a graphic console becomes: vmcast.<VM name>.<console index>, the VM name
// with letters, digits, '-' and '_' kept and the rest turned into '-'.
std::string console_node_name(const std::string &vm_name, uint32_t console_index);
// The PipeWire node the VM's sound becomes: vmcast.<VM name>.audio, the name kept as above.
std::string audio_node_name(const std::string &vm_name);

} // namespace vmcast::qemu
