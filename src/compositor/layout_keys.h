// Which key of a keyboard with a given XKB layout types each keysym, and which modifier keys
// must be held for it: the reverse of a layout, the way wayvnc's keyboard.c reverses a keymap.
// xkbcommon only (no wlroots): the web page's "type text" uses it for the guest's layout, and
// KeymapTranslator for the US layout it assumes for Wayland clients' keys.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include <xkbcommon/xkbcommon.h>

namespace vmcast::compositor {

struct XkbDeleter {
    void operator()(xkb_context *context) const { xkb_context_unref(context); }
    void operator()(xkb_keymap *keymap) const { xkb_keymap_unref(keymap); }
    void operator()(xkb_state *state) const { xkb_state_unref(state); }
};
using XkbContextPtr = std::unique_ptr<xkb_context, XkbDeleter>;
using XkbKeymapPtr = std::unique_ptr<xkb_keymap, XkbDeleter>;
using XkbStatePtr = std::unique_ptr<xkb_state, XkbDeleter>;

// xkb key codes are Linux key codes (and the virtual keyboard protocol's) + 8.
constexpr uint32_t kXkbKeycodeOffset = 8;

// A key and the modifier keys that make it type a keysym: Shift (level 2), AltGr (level 3) or
// both (level 4).
struct LayoutKey {
    uint32_t linux_keycode;
    bool shift;
    bool altgr; // the right Alt key, ISO_Level3_Shift in the layouts that have a level 3
};

class LayoutKeys {
  public:
    // An xkbcommon context that reads the system's XKB files only, never the environment's;
    // nullptr when xkbcommon cannot start.
    static XkbContextPtr new_context();

    // The reverse of layout (an XKB layout name, "us", "de"...) on a pc105 keyboard, up to
    // levels (2: with Shift, 4: with AltGr too). nullptr and a reason in error when the layout
    // does not compile.
    static std::unique_ptr<LayoutKeys> create(xkb_context *context, const std::string &layout,
                                              unsigned levels, std::string &error);

    // The key that types keysym; nullopt when the layout has none within its levels.
    std::optional<LayoutKey> key_for(xkb_keysym_t keysym) const;

  private:
    LayoutKeys() = default;

    std::map<xkb_keysym_t, LayoutKey> keys_;
};

} // namespace vmcast::compositor
