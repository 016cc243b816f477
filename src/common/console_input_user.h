// One user's keyboard and pointer input into one console, as a module that must not know QEMU
// (the compositor's Wayland clients) sees it. src/app implements it over qemu::InputClient.
// Codes are Linux input event codes (KEY_*, BTN_*), what Wayland clients speak.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace vmcast {

class ConsoleInputUser {
  public:
    // Lets go of every key and button this user still holds.
    virtual ~ConsoleInputUser() = default;

    // A key of a US layout keyboard (the layout vmcast assumes the guest has). Keys with no
    // QEMU code are dropped.
    virtual void press_key(uint32_t linux_keycode) = 0;
    virtual void release_key(uint32_t linux_keycode) = 0;
    // BTN_LEFT, BTN_RIGHT, BTN_MIDDLE, BTN_SIDE, BTN_EXTRA; others are dropped.
    virtual void press_button(uint32_t linux_button) = 0;
    virtual void release_button(uint32_t linux_button) = 0;
    // Wheel clicks: positive steps scroll down or right.
    virtual void scroll(int32_t vertical_steps, int32_t horizontal_steps) = 0;
    // To console pixel (x, y), or by (dx, dy) pixels.
    virtual void move_to(int32_t x, int32_t y) = 0;
    virtual void move_by(int32_t dx, int32_t dy) = 0;
};

// Makes a user of one console's input; user_name is for log lines.
using ConsoleInputOpener =
    std::function<std::unique_ptr<ConsoleInputUser>(const std::string &user_name)>;

} // namespace vmcast
