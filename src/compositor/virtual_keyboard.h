// One zwp_virtual_keyboard_v1 of a client (wtype, wayvnc): its keys go through its own keymap
// (see keymap_translator.h) to the guest keys that type the same characters, and modifiers that
// arrive only as a mask are pressed as modifier keys. Owned by its resource: when the client
// goes, everything it held is let go of.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>

#include "compositor/keymap_translator.h"
#include "compositor/virtual_input.h"

struct wl_resource;

namespace vmcast::compositor {

class VirtualKeyboard {
  public:
    // Serves resource until it is destroyed.
    static void serve(VirtualInput &input, wl_resource *resource);
    VirtualKeyboard(const VirtualKeyboard &) = delete;
    VirtualKeyboard &operator=(const VirtualKeyboard &) = delete;
    // Lets go of everything the client held; the resource then serves nothing.
    ~VirtualKeyboard();

    // The console is going: what this keyboard held there is let go of and forgotten, so no
    // key or modifier the client still holds is held on the console it types into next.
    void console_detached(uint64_t console);

  private:
    VirtualKeyboard(VirtualInput &input, wl_resource *resource);
    static VirtualKeyboard *from(wl_resource *resource);
    static void on_keymap(wl_client *, wl_resource *resource, uint32_t format, int32_t fd,
                          uint32_t size);
    static void on_key(wl_client *, wl_resource *resource, uint32_t time, uint32_t key,
                       uint32_t state);
    static void on_modifiers(wl_client *, wl_resource *resource, uint32_t depressed,
                             uint32_t latched, uint32_t locked, uint32_t group);
    static void on_destroy(wl_client *, wl_resource *resource);
    static void on_resource_destroyed(wl_resource *resource);

    void set_keymap(uint32_t format, int fd, uint32_t size);
    void press(uint32_t client_key);
    void release(uint32_t client_key);
    // Presses the modifier keys for the mask's modifiers that no held key explains, and lets go
    // of those no longer in the mask.
    void sync_mask_modifiers();
    // The guest's Shift key that is down, if one is.
    std::optional<uint32_t> held_shift_key() const;
    // Guest keys are counted, as a held key, the mask and a key needing Shift can share one.
    void press_guest(uint32_t linux_keycode);
    void release_guest(uint32_t linux_keycode);

    struct HeldKey {
        uint32_t guest_key;
        // The Shift key this key holds down while it is: it types its character with Shift.
        std::optional<uint32_t> shift_key;
    };

    VirtualInput &input_;
    wl_resource *resource_;
    XkbKeymapPtr keymap_;
    XkbStatePtr state_;
    std::map<uint32_t, HeldKey> held_keys_; // by the client's key code
    std::set<Modifier> mask_modifiers_;     // pressed for the mask alone
    std::map<uint32_t, unsigned> guest_key_holds_;
    ConsoleUse console_;
};

} // namespace vmcast::compositor
