// Keys from a Wayland client's keymap to the keys of the guest's keyboard. A client's key code
// means whatever its own keymap says (wtype uploads a keymap with one made-up key per character
// it types; wayvnc an evdev one), so a key becomes the keysym it produces under the client's
// modifiers, and that keysym the key of a US layout keyboard that types it (the layout vmcast
// assumes the guest has, as its web input does), the way wayvnc's keyboard.c reverses a keymap.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include <xkbcommon/xkbcommon.h>

#include "compositor/layout_keys.h"

namespace vmcast::compositor {

// The key of the guest's (US) keyboard that types a keysym; it never needs AltGr.
using GuestKey = LayoutKey;

// The modifiers a client's mask can hold, and the guest keys that hold them.
enum class Modifier { Shift, Control, Alt, Logo };
constexpr Modifier kModifiers[] = {Modifier::Shift, Modifier::Control, Modifier::Alt,
                                   Modifier::Logo};
// The left key pressed for a modifier that only the client's mask holds.
uint32_t left_key_of(Modifier modifier);
// Whether a guest key holds the modifier (either the left or the right one).
bool holds_modifier(uint32_t linux_keycode, Modifier modifier);

class KeymapTranslator {
  public:
    // nullptr and a reason in error when xkbcommon cannot compile the US layout.
    static std::unique_ptr<KeymapTranslator> create(std::string &error);

    // A client's keymap: size bytes of fd, an XKB text keymap. nullptr and a reason in error
    // when the fd cannot be read without blocking (client_keymap_file.h), or it does not
    // compile.
    XkbKeymapPtr load_client_keymap(int fd, uint32_t size, std::string &error) const;

    // The guest key that types keysym; nullopt when a US keyboard has none.
    std::optional<GuestKey> guest_key_for(xkb_keysym_t keysym) const;

  private:
    KeymapTranslator() = default;

    XkbContextPtr context_;
    std::unique_ptr<LayoutKeys> us_keys_;
};

} // namespace vmcast::compositor
