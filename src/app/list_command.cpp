#include <algorithm>
#include <cstdio>

#include <map>

#include "app/commands.h"
#include "pipewire/node_directory.h"
#include "pipewire/pipewire_context.h"
#include "qemu/display_bus.h"

namespace vmcast::app {

int run_list(const Options &options) {
    std::string error;
    GObjectPtr<GDBusConnection> bus = connect_to_display(options, error);
    if (!bus)
        return fail(error);
    std::vector<qemu::VmInfo> vms = qemu::list_vms(bus.get(), error);
    if (!error.empty())
        return fail(error);
    if (vms.empty())
        return fail("no VM found: nothing owns org.qemu on this bus (is QEMU running with "
                    "-display dbus on this bus?)");
    // Node ids are shown when PipeWire is reachable; the list is useful without them.
    std::map<std::string, uint32_t> nodes;
    std::string pipewire_error;
    if (auto pipewire = pipewire::PipeWireContext::connect(nullptr, pipewire_error))
        nodes = pipewire::list_nodes(*pipewire);
    for (const qemu::VmInfo &vm : vms) {
        if (!options.vm_names.empty() && std::find(options.vm_names.begin(), options.vm_names.end(),
                                                   vm.name) == options.vm_names.end())
            continue;
        const std::string reached_at = vm.bus_name.empty()
                                           ? "p2p through QMP socket " + options.qmp_socket
                                           : "bus name " + vm.bus_name;
        printf("VM '%s' uuid %s (%s)\n", vm.name.c_str(), vm.uuid.c_str(), reached_at.c_str());
        for (const qemu::ConsoleInfo &console : vm.consoles) {
            printf("  console %u: %s %s %ux%u at %s", console.index, console.label.c_str(),
                   console.type.c_str(), console.width, console.height,
                   console.device_address.c_str());
            if (console.graphic()) {
                const std::string node = qemu::console_node_name(vm.name, console.index);
                const auto found = nodes.find(node);
                if (found != nodes.end())
                    printf(", node %s (id %u)", node.c_str(), found->second);
                else
                    printf(", node %s (not streaming)", node.c_str());
            }
            printf("\n");
        }
    }
    return 0;
}

} // namespace vmcast::app
