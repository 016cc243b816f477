// ConsoleInputUser (what the compositor's Wayland clients type and point with) over a QEMU
// console's InputClient: Linux key codes become qnums, BTN_* codes QEMU's buttons.
#pragma once

#include <memory>

#include "common/console_input_user.h"
#include "qemu/console_input.h"

namespace vmcast::app {

std::unique_ptr<ConsoleInputUser> qemu_input_user(std::unique_ptr<qemu::InputClient> client);

} // namespace vmcast::app
