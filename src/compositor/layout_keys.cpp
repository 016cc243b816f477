#include "compositor/layout_keys.h"

#include <glib.h>

#include "common/glib_ptr.h"

namespace vmcast::compositor {
namespace {

void log_xkb(xkb_context *, xkb_log_level, const char *format, va_list args) {
    GCharPtr line(g_strdup_vprintf(format, args));
    g_debug("xkbcommon: %s", g_strchomp(line.get()));
}

xkb_mod_mask_t mod_bit(xkb_keymap *keymap, const char *name) {
    const xkb_mod_index_t index = xkb_keymap_mod_get_index(keymap, name);
    return index == XKB_MOD_INVALID ? 0 : 1u << index;
}

} // namespace

XkbContextPtr LayoutKeys::new_context() {
    XkbContextPtr context(xkb_context_new(XKB_CONTEXT_NO_ENVIRONMENT_NAMES));
    if (context)
        xkb_context_set_log_fn(context.get(), log_xkb);
    return context;
}

std::unique_ptr<LayoutKeys> LayoutKeys::create(xkb_context *context, const std::string &layout,
                                               unsigned levels, std::string &error) {
    const xkb_rule_names names = {"evdev", "pc105", layout.c_str(), "", ""};
    XkbKeymapPtr keymap(xkb_keymap_new_from_names(context, &names, XKB_KEYMAP_COMPILE_NO_FLAGS));
    if (!keymap) {
        error = "cannot compile the keyboard layout \"" + layout + "\" (is xkb-data installed?)";
        return nullptr;
    }
    xkb_keymap *map = keymap.get();
    const xkb_mod_mask_t shift = mod_bit(map, XKB_MOD_NAME_SHIFT);
    // evdev's layouts put ISO_Level3_Shift (LevelThree) on Mod5.
    const xkb_mod_mask_t level3 = mod_bit(map, "Mod5");
    std::unique_ptr<LayoutKeys> reverse(new LayoutKeys());
    // The main block's keys (up to the keypad's) first, then the others: "$" and "(" must be
    // Shift+4 and Shift+9, not KEY_DOLLAR or the keypad's parenthesis, which a PS/2 guest has no
    // scancode for, nor "<" the 102nd key, missing on US keyboards. Within each, lower levels
    // first, so a keysym maps to the key that needs the fewest modifiers.
    constexpr xkb_keycode_t kLastMainBlockKey = 83 + kXkbKeycodeOffset; // KEY_KPDOT
    for (const bool main_block : {true, false})
        for (xkb_level_index_t level = 0; level < levels && level < 4; ++level) {
            const bool with_shift = level % 2 == 1;
            const bool with_altgr = level >= 2;
            const xkb_mod_mask_t needed = (with_shift ? shift : 0) | (with_altgr ? level3 : 0);
            if (with_altgr && !level3)
                break;
            for (xkb_keycode_t code = xkb_keymap_min_keycode(map);
                 code <= xkb_keymap_max_keycode(map); ++code) {
                if ((code <= kLastMainBlockKey) != main_block || code < kXkbKeycodeOffset)
                    continue;
                xkb_mod_mask_t masks[8];
                const size_t mask_count =
                    xkb_keymap_key_get_mods_for_level(map, code, 0, level, masks, 8);
                bool reachable = false;
                for (size_t i = 0; i < mask_count; ++i)
                    reachable = reachable || masks[i] == needed;
                const xkb_keysym_t *syms = nullptr;
                if (!reachable || xkb_keymap_key_get_syms_by_level(map, code, 0, level, &syms) != 1)
                    continue;
                reverse->keys_.emplace(syms[0],
                                       LayoutKey{code - kXkbKeycodeOffset, with_shift, with_altgr});
            }
        }
    return reverse;
}

std::optional<LayoutKey> LayoutKeys::key_for(xkb_keysym_t keysym) const {
    auto found = keys_.find(keysym);
    if (found == keys_.end())
        return std::nullopt;
    return found->second;
}

} // namespace vmcast::compositor
