#include <cstdio>

#include "app/commands.h"
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
    for (const qemu::VmInfo &vm : vms) {
        if (!options.vm_name.empty() && vm.name != options.vm_name)
            continue;
        const std::string reached_at = vm.bus_name.empty()
                                           ? "p2p through QMP socket " + options.qmp_socket
                                           : "bus name " + vm.bus_name;
        printf("VM '%s' uuid %s (%s)\n", vm.name.c_str(), vm.uuid.c_str(), reached_at.c_str());
        for (const qemu::ConsoleInfo &console : vm.consoles) {
            printf("  console %u: %s %s %ux%u at %s", console.index, console.label.c_str(),
                   console.type.c_str(), console.width, console.height,
                   console.device_address.c_str());
            if (console.graphic())
                printf(", node vmcast.%s.%u", qemu::node_safe_name(vm.name).c_str(), console.index);
            printf("\n");
        }
    }
    return 0;
}

} // namespace vmcast::app
