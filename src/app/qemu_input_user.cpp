#include "app/qemu_input_user.h"

#include <linux/input-event-codes.h>

#include <optional>

#include <glib.h>

#include "qemu/keymap.h"

namespace vmcast::app {
namespace {

std::optional<uint32_t> qemu_button_of(uint32_t linux_button) {
    switch (linux_button) {
    case BTN_LEFT:
        return qemu::mouse_button::kLeft;
    case BTN_MIDDLE:
        return qemu::mouse_button::kMiddle;
    case BTN_RIGHT:
        return qemu::mouse_button::kRight;
    case BTN_SIDE:
        return qemu::mouse_button::kSide;
    case BTN_EXTRA:
        return qemu::mouse_button::kExtra;
    default:
        return std::nullopt;
    }
}

class QemuInputUser final : public ConsoleInputUser {
  public:
    explicit QemuInputUser(std::unique_ptr<qemu::InputClient> client)
        : client_(std::move(client)) {}

    void press_key(uint32_t linux_keycode) override {
        if (std::optional<uint32_t> qnum = qemu::qnum_from_evdev(linux_keycode))
            client_->press_key(*qnum);
        else
            g_debug("a Wayland client's key %u has no QEMU code", linux_keycode);
    }
    void release_key(uint32_t linux_keycode) override {
        if (std::optional<uint32_t> qnum = qemu::qnum_from_evdev(linux_keycode))
            client_->release_key(*qnum);
    }
    void press_button(uint32_t linux_button) override {
        if (std::optional<uint32_t> button = qemu_button_of(linux_button))
            client_->press_button(*button);
    }
    void release_button(uint32_t linux_button) override {
        if (std::optional<uint32_t> button = qemu_button_of(linux_button))
            client_->release_button(*button);
    }
    void scroll(int32_t vertical_steps, int32_t horizontal_steps) override {
        client_->scroll(vertical_steps, horizontal_steps);
    }
    void move_to(int32_t x, int32_t y) override { client_->move_to(x, y); }
    void move_by(int32_t dx, int32_t dy) override { client_->move_by(dx, dy); }

  private:
    // Its destructor lets go of everything held.
    std::unique_ptr<qemu::InputClient> client_;
};

} // namespace

std::unique_ptr<ConsoleInputUser> qemu_input_user(std::unique_ptr<qemu::InputClient> client) {
    return std::make_unique<QemuInputUser>(std::move(client));
}

} // namespace vmcast::app
