#include "app/commands.h"
#include "app/logging.h"
#include "qemu/display_bus.h"

namespace vmcast::app {

int fail(const std::string &message) {
    print_error(message);
    return 1;
}

GObjectPtr<GDBusConnection> connect_to_display(const Options &options, std::string &error) {
    return options.qmp_socket.empty() ? qemu::open_bus(options.address, error)
                                      : qemu::open_p2p(options.qmp_socket, error);
}

std::optional<ChosenVm> connect_to_vm(const Options &options, std::string &error) {
    GObjectPtr<GDBusConnection> bus = connect_to_display(options, error);
    if (!bus)
        return std::nullopt;
    qemu::VmInfo vm =
        qemu::choose_vm(bus.get(), options.vm_names.empty() ? "" : options.vm_names.front(), error);
    if (!error.empty())
        return std::nullopt;
    return ChosenVm{std::move(bus), std::move(vm)};
}

} // namespace vmcast::app
