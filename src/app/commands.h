// The three things vmcast does. Each returns the process exit status.
#pragma once

#include <optional>
#include <string>

#include "app/options.h"
#include "common/glib_ptr.h"
#include "qemu/display_bus.h"

namespace vmcast::app {

int run_list(const Options &options);
int run_screenshot(const Options &options);
int run_daemon(const Options &options);

// Prints "vmcast: <message>" on stderr and returns 1.
int fail(const std::string &message);

// The connection the options name: a peer-to-peer one through QMP (--qmp), the bus at
// --address, or the session bus. nullptr and a one-line reason in error on failure.
GObjectPtr<GDBusConnection> connect_to_display(const Options &options, std::string &error);

// The VM the options name (--vm, or the only one) and the connection it is reached on.
struct ChosenVm {
    GObjectPtr<GDBusConnection> bus;
    qemu::VmInfo vm;
};
// nullopt and a one-line reason in error when there is no such VM or connection.
std::optional<ChosenVm> connect_to_vm(const Options &options, std::string &error);

} // namespace vmcast::app
