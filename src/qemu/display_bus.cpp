#include "qemu/display_bus.h"

#include <algorithm>
#include <cstdio>
#include <optional>

#include "common/unique_fd.h"
#include "qemu/call_timeout.h"
#include "qemu/display_connection.h"
#include "qemu/qmp_client.h"

namespace vmcast::qemu {
namespace {

constexpr const char *kConsolePathPrefix = "/org/qemu/Display1/Console_";

std::string string_property(GVariant *properties, const char *name) {
    const gchar *value = nullptr;
    if (properties && g_variant_lookup(properties, name, "&s", &value))
        return value;
    return {};
}

uint32_t uint_property(GVariant *properties, const char *name) {
    guint32 value = 0;
    if (properties)
        g_variant_lookup(properties, name, "u", &value);
    return value;
}

// A p2p connection has QEMU itself at the other end and no message bus to ask.
bool is_peer_to_peer(GDBusConnection *connection) {
    return g_dbus_connection_get_unique_name(connection) == nullptr;
}

// Reads VM and consoles from one QEMU's ObjectManager (GetManagedObjects). bus_name is empty
// on a p2p connection.
bool read_vm(GDBusConnection *bus, const std::string &bus_name, VmInfo &vm, std::string &error) {
    GError *raw_error = nullptr;
    GVariantPtr reply(g_dbus_connection_call_sync(
        bus, bus_name.empty() ? nullptr : bus_name.c_str(), kDisplayRoot,
        "org.freedesktop.DBus.ObjectManager", "GetManagedObjects", nullptr,
        G_VARIANT_TYPE("(a{oa{sa{sv}}})"), G_DBUS_CALL_FLAGS_NO_AUTO_START, kQemuCallTimeoutMs,
        nullptr, &raw_error));
    GErrorPtr call_error(raw_error);
    if (!reply) {
        error = "cannot read the display objects of " + (bus_name.empty() ? "QEMU" : bus_name) +
                ": " + call_error->message;
        return false;
    }
    vm = vm_from_managed_objects(reply.get(), bus_name);
    return true;
}

} // namespace

std::string remote_error_name(GError *error) {
    if (!error || !g_dbus_error_is_remote_error(error))
        return {};
    GCharPtr name(g_dbus_error_get_remote_error(error));
    return name ? name.get() : "";
}

VmInfo vm_from_managed_objects(GVariant *reply, const std::string &bus_name) {
    VmInfo vm;
    vm.bus_name = bus_name;
    GVariantIter *objects = nullptr;
    g_variant_get(reply, "(a{oa{sa{sv}}})", &objects);
    const gchar *path = nullptr;
    GVariant *interfaces = nullptr;
    while (g_variant_iter_loop(objects, "{&o@a{sa{sv}}}", &path, &interfaces)) {
        if (g_str_equal(path, "/org/qemu/Display1/VM")) {
            GVariantPtr properties(
                g_variant_lookup_value(interfaces, "org.qemu.Display1.VM", G_VARIANT_TYPE_VARDICT));
            vm.name = string_property(properties.get(), "Name");
            vm.uuid = string_property(properties.get(), "UUID");
            continue;
        }
        if (g_str_equal(path, "/org/qemu/Display1/Audio")) {
            GVariantPtr properties(g_variant_lookup_value(interfaces, "org.qemu.Display1.Audio",
                                                          G_VARIANT_TYPE_VARDICT));
            if (properties) {
                GVariantPtr listed(g_variant_lookup_value(properties.get(), "Interfaces", nullptr));
                vm.audio = listed ? AudioOut::Since81 : AudioOut::Before81;
            }
            continue;
        }
        if (!g_str_has_prefix(path, kConsolePathPrefix))
            continue;
        GVariantPtr properties(g_variant_lookup_value(interfaces, "org.qemu.Display1.Console",
                                                      G_VARIANT_TYPE_VARDICT));
        if (!properties)
            continue;
        ConsoleInfo console;
        char *end = nullptr;
        const char *digits = path + strlen(kConsolePathPrefix);
        console.index = uint32_t(strtoul(digits, &end, 10));
        if (end == digits || *end != '\0')
            continue;
        console.label = string_property(properties.get(), "Label");
        console.type = string_property(properties.get(), "Type");
        console.device_address = string_property(properties.get(), "DeviceAddress");
        console.head = uint_property(properties.get(), "Head");
        console.width = uint_property(properties.get(), "Width");
        console.height = uint_property(properties.get(), "Height");
        vm.consoles.push_back(console);
    }
    g_variant_iter_free(objects);
    std::sort(vm.consoles.begin(), vm.consoles.end(),
              [](const ConsoleInfo &a, const ConsoleInfo &b) { return a.index < b.index; });
    return vm;
}

GObjectPtr<GDBusConnection> open_bus(const std::string &address, std::string &error) {
    GError *raw_error = nullptr;
    GDBusConnection *bus = nullptr;
    if (address.empty()) {
        bus = g_bus_get_sync(G_BUS_TYPE_SESSION, nullptr, &raw_error);
    } else {
        bus = g_dbus_connection_new_for_address_sync(
            address.c_str(),
            GDBusConnectionFlags(G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT |
                                 G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION),
            nullptr, nullptr, &raw_error);
    }
    GErrorPtr connect_error(raw_error);
    if (!bus) {
        error = address.empty() ? std::string("cannot connect to the D-Bus session bus: ")
                                : "cannot connect to D-Bus at " + address + ": ";
        error += connect_error->message;
        return nullptr;
    }
    // vmcast decides itself when to stop; losing the bus must not kill the process.
    g_dbus_connection_set_exit_on_close(bus, FALSE);
    return GObjectPtr<GDBusConnection>(bus);
}

GObjectPtr<GDBusConnection> open_p2p(const std::string &qmp_socket, std::string &error) {
    UniqueFd our_end = add_dbus_display_client(qmp_socket, error);
    if (!our_end.valid())
        return nullptr;
    // The handshake runs on the default context, waited for here: it has its own time limit.
    std::optional<GObjectPtr<GDBusConnection>> result;
    auto pending = PendingDisplayConnection::peer(
        std::move(our_end),
        [&](GObjectPtr<GDBusConnection> connection, std::string why) {
            error = std::move(why);
            result = std::move(connection);
        },
        error);
    if (!pending)
        return nullptr;
    while (!result)
        g_main_context_iteration(nullptr, TRUE);
    return std::move(*result);
}

std::vector<VmInfo> list_vms(GDBusConnection *bus, std::string &error) {
    if (is_peer_to_peer(bus)) {
        VmInfo vm;
        if (!read_vm(bus, "", vm, error))
            return {};
        return {vm};
    }
    GError *raw_error = nullptr;
    GVariantPtr reply(g_dbus_connection_call_sync(
        bus, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
        "ListQueuedOwners", g_variant_new("(s)", kQemuBusName), G_VARIANT_TYPE("(as)"),
        G_DBUS_CALL_FLAGS_NONE, kQemuCallTimeoutMs, nullptr, &raw_error));
    GErrorPtr call_error(raw_error);
    std::vector<VmInfo> vms;
    if (!reply) {
        // The bus answers NameHasNoOwner when no QEMU is there: that is an empty list.
        if (remote_error_name(call_error.get()) == "org.freedesktop.DBus.Error.NameHasNoOwner")
            return vms;
        error = std::string("cannot ask the bus who owns org.qemu: ") + call_error->message;
        return vms;
    }
    GVariantIter *owners = nullptr;
    g_variant_get(reply.get(), "(as)", &owners);
    const gchar *owner = nullptr;
    while (g_variant_iter_loop(owners, "&s", &owner)) {
        VmInfo vm;
        std::string read_error;
        if (read_vm(bus, owner, vm, read_error))
            vms.push_back(std::move(vm));
        else
            g_warning("%s", read_error.c_str());
    }
    g_variant_iter_free(owners);
    return vms;
}

VmInfo choose_vm(GDBusConnection *bus, const std::string &wanted_name, std::string &error) {
    std::vector<VmInfo> vms = list_vms(bus, error);
    if (!error.empty())
        return {};
    if (vms.empty()) {
        error = "no VM found: nothing owns org.qemu on this bus (is QEMU running with "
                "-display dbus on this bus?)";
        return {};
    }
    const std::string place =
        is_peer_to_peer(bus) ? "at the other end of the QMP socket" : "on this bus";
    std::string names;
    for (const VmInfo &vm : vms)
        names += (names.empty() ? "'" : ", '") + vm.name + "'";
    if (wanted_name.empty()) {
        if (vms.size() == 1)
            return vms.front();
        error = "several VMs on this bus (" + names + "): choose one with --vm NAME";
        return {};
    }
    for (const VmInfo &vm : vms) {
        if (vm.name == wanted_name)
            return vm;
    }
    error = "no VM named '" + wanted_name + "' " + place + " (found " + names + ")";
    return {};
}

namespace {

// vmcast.<VM name> with letters, digits, '-' and '_' kept and the rest turned into '-'.
std::string vm_node_prefix(const std::string &vm_name) {
    std::string safe;
    for (char c : vm_name)
        safe += (g_ascii_isalnum(c) || c == '-' || c == '_') ? c : '-';
    return "vmcast." + (safe.empty() ? std::string("vm") : safe);
}

} // namespace

std::string console_node_name(const std::string &vm_name, uint32_t console_index) {
    return vm_node_prefix(vm_name) + "." + std::to_string(console_index);
}

std::string audio_node_name(const std::string &vm_name) {
    return vm_node_prefix(vm_name) + ".audio";
}

} // namespace vmcast::qemu
