#include "compositor/keymap_translator.h"

#include <linux/input-event-codes.h>
#include <cstring>

#include <glib.h>

#include "common/glib_ptr.h"
#include "compositor/client_keymap_file.h"

namespace vmcast::compositor {
namespace {

void log_xkb(xkb_context *, xkb_log_level, const char *format, va_list args) {
    GCharPtr line(g_strdup_vprintf(format, args));
    g_debug("xkbcommon: %s", g_strchomp(line.get()));
}

} // namespace

uint32_t left_key_of(Modifier modifier) {
    switch (modifier) {
    case Modifier::Shift:
        return KEY_LEFTSHIFT;
    case Modifier::Control:
        return KEY_LEFTCTRL;
    case Modifier::Alt:
        return KEY_LEFTALT;
    case Modifier::Logo:
        return KEY_LEFTMETA;
    }
    return KEY_LEFTSHIFT;
}

bool holds_modifier(uint32_t linux_keycode, Modifier modifier) {
    switch (modifier) {
    case Modifier::Shift:
        return linux_keycode == KEY_LEFTSHIFT || linux_keycode == KEY_RIGHTSHIFT;
    case Modifier::Control:
        return linux_keycode == KEY_LEFTCTRL || linux_keycode == KEY_RIGHTCTRL;
    case Modifier::Alt:
        return linux_keycode == KEY_LEFTALT || linux_keycode == KEY_RIGHTALT;
    case Modifier::Logo:
        return linux_keycode == KEY_LEFTMETA || linux_keycode == KEY_RIGHTMETA;
    }
    return false;
}

std::unique_ptr<KeymapTranslator> KeymapTranslator::create(std::string &error) {
    std::unique_ptr<KeymapTranslator> translator(new KeymapTranslator());
    // Clients' keymaps include the system's XKB files ("complete"), never the environment's.
    translator->context_.reset(xkb_context_new(XKB_CONTEXT_NO_ENVIRONMENT_NAMES));
    if (!translator->context_) {
        error = "cannot start xkbcommon";
        return nullptr;
    }
    xkb_context_set_log_fn(translator->context_.get(), log_xkb);
    const xkb_rule_names us = {"evdev", "pc105", "us", "", ""};
    XkbKeymapPtr guest(
        xkb_keymap_new_from_names(translator->context_.get(), &us, XKB_KEYMAP_COMPILE_NO_FLAGS));
    if (!guest) {
        error = "cannot compile the US keyboard layout (is xkb-data installed?)";
        return nullptr;
    }
    const xkb_mod_mask_t shift = 1u << xkb_keymap_mod_get_index(guest.get(), XKB_MOD_NAME_SHIFT);
    // The main block's keys (up to the keypad's) first, at either level, then the others: "$"
    // and "(" must be Shift+4 and Shift+9, not KEY_DOLLAR or the keypad's parenthesis, which a
    // PS/2 guest has no scancode for, nor "<" the 102nd key, missing on US keyboards. Within
    // each, level 1 first, so a keysym maps to a key that types it without Shift when there is
    // one.
    constexpr xkb_keycode_t kLastMainBlockKey = 83 + kXkbKeycodeOffset; // KEY_KPDOT
    for (const bool main_block : {true, false})
        for (xkb_level_index_t level = 0; level < 2; ++level) {
            for (xkb_keycode_t code = xkb_keymap_min_keycode(guest.get());
                 code <= xkb_keymap_max_keycode(guest.get()); ++code) {
                if ((code <= kLastMainBlockKey) != main_block)
                    continue;
                xkb_mod_mask_t masks[8];
                const size_t mask_count =
                    xkb_keymap_key_get_mods_for_level(guest.get(), code, 0, level, masks, 8);
                const xkb_mod_mask_t needed = level == 0 ? 0 : shift;
                bool reachable = false;
                for (size_t i = 0; i < mask_count; ++i)
                    reachable = reachable || masks[i] == needed;
                const xkb_keysym_t *syms = nullptr;
                if (!reachable ||
                    xkb_keymap_key_get_syms_by_level(guest.get(), code, 0, level, &syms) != 1 ||
                    code < kXkbKeycodeOffset)
                    continue;
                translator->guest_keys_.emplace(syms[0],
                                                GuestKey{code - kXkbKeycodeOffset, level == 1});
            }
        }
    return translator;
}

XkbKeymapPtr KeymapTranslator::load_client_keymap(int fd, uint32_t size, std::string &error) const {
    std::optional<std::string> text = read_client_keymap_file(fd, size, error);
    if (!text)
        return nullptr;
    // Clients send the text with its terminating NUL; xkbcommon wants the text only.
    const size_t length = strnlen(text->data(), text->size());
    XkbKeymapPtr keymap(xkb_keymap_new_from_buffer(context_.get(), text->data(), length,
                                                   XKB_KEYMAP_FORMAT_TEXT_V1,
                                                   XKB_KEYMAP_COMPILE_NO_FLAGS));
    if (!keymap)
        error = "its keymap does not compile";
    return keymap;
}

std::optional<GuestKey> KeymapTranslator::guest_key_for(xkb_keysym_t keysym) const {
    auto found = guest_keys_.find(keysym);
    if (found == guest_keys_.end())
        return std::nullopt;
    return found->second;
}

} // namespace vmcast::compositor
