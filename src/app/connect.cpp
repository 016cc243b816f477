#include <cstdio>

#include "app/commands.h"
#include "qemu/display_bus.h"

namespace vmcast::app {

int fail(const std::string &message) {
    fprintf(stderr, "vmcast: %s\n", message.c_str());
    return 1;
}

GObjectPtr<GDBusConnection> connect_to_display(const Options &options, std::string &error) {
    return options.qmp_socket.empty() ? qemu::open_bus(options.address, error)
                                      : qemu::open_p2p(options.qmp_socket, error);
}

} // namespace vmcast::app
