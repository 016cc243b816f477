#include "compositor/virtual_keyboard.h"

#include <linux/input-event-codes.h>
#include <unistd.h>

#include <glib.h>
#include <wayland-server-core.h>

#include "virtual-keyboard-unstable-v1-protocol.h"

namespace vmcast::compositor {
namespace {

// Larger key codes exist in no keymap.
constexpr uint32_t kMaxClientKey = 0xffff;

const char *modifier_name(Modifier modifier) {
    switch (modifier) {
    case Modifier::Shift:
        return XKB_MOD_NAME_SHIFT;
    case Modifier::Control:
        return XKB_MOD_NAME_CTRL;
    case Modifier::Alt:
        return XKB_MOD_NAME_ALT;
    case Modifier::Logo:
        return XKB_MOD_NAME_LOGO;
    }
    return XKB_MOD_NAME_SHIFT;
}

} // namespace

void VirtualKeyboard::serve(VirtualInput &input, wl_resource *resource) {
    static const struct zwp_virtual_keyboard_v1_interface implementation = {
        .keymap = &VirtualKeyboard::on_keymap,
        .key = &VirtualKeyboard::on_key,
        .modifiers = &VirtualKeyboard::on_modifiers,
        .destroy = &VirtualKeyboard::on_destroy,
    };
    auto *keyboard = new VirtualKeyboard(input, resource);
    wl_resource_set_implementation(resource, &implementation, keyboard,
                                   &VirtualKeyboard::on_resource_destroyed);
}

VirtualKeyboard::VirtualKeyboard(VirtualInput &input, wl_resource *resource)
    : input_(input), resource_(resource),
      console_(input,
               "Wayland client " + std::to_string(wl_resource_get_id(resource)) + " keyboard") {
    input_.keyboards_.insert(this);
}

VirtualKeyboard::~VirtualKeyboard() {
    input_.keyboards_.erase(this);
    wl_resource_set_user_data(resource_, nullptr);
    // console_'s user goes with this, letting go of every key.
}

void VirtualKeyboard::console_detached(uint64_t console) {
    if (console_.console() != console)
        return;
    console_.close();
    held_keys_.clear();
    mask_modifiers_.clear();
    guest_key_holds_.clear();
}

VirtualKeyboard *VirtualKeyboard::from(wl_resource *resource) {
    return static_cast<VirtualKeyboard *>(wl_resource_get_user_data(resource));
}

void VirtualKeyboard::on_keymap(wl_client *, wl_resource *resource, uint32_t format, int32_t fd,
                                uint32_t size) {
    if (VirtualKeyboard *keyboard = from(resource))
        keyboard->set_keymap(format, fd, size);
    close(fd);
}

void VirtualKeyboard::on_key(wl_client *, wl_resource *resource, uint32_t, uint32_t key,
                             uint32_t state) {
    VirtualKeyboard *keyboard = from(resource);
    if (!keyboard)
        return;
    if (!keyboard->keymap_) {
        wl_resource_post_error(resource, ZWP_VIRTUAL_KEYBOARD_V1_ERROR_NO_KEYMAP,
                               "a key before a keymap");
        return;
    }
    if (key > kMaxClientKey)
        return;
    if (state == WL_KEYBOARD_KEY_STATE_PRESSED)
        keyboard->press(key);
    else if (state == WL_KEYBOARD_KEY_STATE_RELEASED)
        keyboard->release(key);
}

void VirtualKeyboard::on_modifiers(wl_client *, wl_resource *resource, uint32_t depressed,
                                   uint32_t latched, uint32_t locked, uint32_t group) {
    VirtualKeyboard *keyboard = from(resource);
    if (!keyboard)
        return;
    if (!keyboard->keymap_) {
        wl_resource_post_error(resource, ZWP_VIRTUAL_KEYBOARD_V1_ERROR_NO_KEYMAP,
                               "modifiers before a keymap");
        return;
    }
    xkb_state_update_mask(keyboard->state_.get(), depressed, latched, locked, 0, 0, group);
    keyboard->sync_mask_modifiers();
}

void VirtualKeyboard::on_destroy(wl_client *, wl_resource *resource) {
    wl_resource_destroy(resource);
}

void VirtualKeyboard::on_resource_destroyed(wl_resource *resource) {
    delete from(resource);
}

void VirtualKeyboard::set_keymap(uint32_t format, int fd, uint32_t size) {
    std::string error;
    XkbKeymapPtr keymap;
    if (format != WL_KEYBOARD_KEYMAP_FORMAT_XKB_V1)
        error = "its keymap is not an XKB keymap";
    else
        keymap = input_.translator().load_client_keymap(fd, size, error);
    XkbStatePtr state(keymap ? xkb_state_new(keymap.get()) : nullptr);
    if (!state) {
        g_info("refused a Wayland client's virtual keyboard: %s", error.c_str());
        wl_resource_post_error(resource_, ZWP_VIRTUAL_KEYBOARD_V1_ERROR_NO_KEYMAP,
                               "keymap refused: %s", error.c_str());
        return;
    }
    // Keys held so far stay held as the guest keys they became.
    keymap_ = std::move(keymap);
    state_ = std::move(state);
}

void VirtualKeyboard::press(uint32_t client_key) {
    if (held_keys_.contains(client_key))
        return; // a repeat: the guest repeats keys itself
    const xkb_keysym_t keysym =
        xkb_state_key_get_one_sym(state_.get(), client_key + kXkbKeycodeOffset);
    std::optional<GuestKey> guest = input_.translator().guest_key_for(keysym);
    if (!guest) {
        g_debug("a Wayland client's key %u (keysym 0x%x) is on no US keyboard", client_key, keysym);
        return;
    }
    // A key that types its character with Shift holds Shift until it is released: wayvnc
    // drops its Shift mask between an uppercase letter's press and release, and a Shift release
    // there would reach the guest in the middle of the letter.
    std::optional<uint32_t> shift_key;
    if (guest->shift)
        shift_key = held_shift_key().value_or(left_key_of(Modifier::Shift));
    if (shift_key)
        press_guest(*shift_key);
    press_guest(guest->linux_keycode);
    held_keys_[client_key] = {guest->linux_keycode, shift_key};
    sync_mask_modifiers();
}

void VirtualKeyboard::release(uint32_t client_key) {
    auto held = held_keys_.find(client_key);
    if (held == held_keys_.end())
        return;
    const HeldKey key = held->second;
    held_keys_.erase(held);
    release_guest(key.guest_key);
    if (key.shift_key)
        release_guest(*key.shift_key);
    sync_mask_modifiers();
}

void VirtualKeyboard::sync_mask_modifiers() {
    for (Modifier modifier : kModifiers) {
        const bool in_mask =
            xkb_state_mod_name_is_active(
                state_.get(), modifier_name(modifier),
                xkb_state_component(XKB_STATE_MODS_DEPRESSED | XKB_STATE_MODS_LATCHED)) > 0;
        bool explained = false;
        for (const auto &[client_key, key] : held_keys_)
            explained = explained || holds_modifier(key.guest_key, modifier);
        const bool wanted = in_mask && !explained;
        if (wanted && !mask_modifiers_.contains(modifier)) {
            mask_modifiers_.insert(modifier);
            press_guest(left_key_of(modifier));
        } else if (!wanted && mask_modifiers_.contains(modifier)) {
            mask_modifiers_.erase(modifier);
            release_guest(left_key_of(modifier));
        }
    }
}

std::optional<uint32_t> VirtualKeyboard::held_shift_key() const {
    for (uint32_t shift : {uint32_t(KEY_LEFTSHIFT), uint32_t(KEY_RIGHTSHIFT)}) {
        if (guest_key_holds_.contains(shift))
            return shift;
    }
    return std::nullopt;
}

void VirtualKeyboard::press_guest(uint32_t linux_keycode) {
    // The keyboard moves to the console under the pointer only with no key down, so every
    // release goes where its press went.
    std::optional<uint64_t> target = console_.console();
    if (!target || guest_key_holds_.empty())
        target = input_.keyboard_console();
    if (!target)
        return;
    ConsoleInputUser *user = console_.user_for(*target);
    if (user && guest_key_holds_[linux_keycode]++ == 0)
        user->press_key(linux_keycode);
}

void VirtualKeyboard::release_guest(uint32_t linux_keycode) {
    auto holds = guest_key_holds_.find(linux_keycode);
    if (holds == guest_key_holds_.end() || --holds->second > 0)
        return;
    guest_key_holds_.erase(holds);
    std::optional<uint64_t> console = console_.console();
    if (ConsoleInputUser *user = console ? console_.user_for(*console) : nullptr)
        user->release_key(linux_keycode);
}

} // namespace vmcast::compositor
