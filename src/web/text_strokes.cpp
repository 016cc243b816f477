#include "web/text_strokes.h"

#include <linux/input-event-codes.h>

#include <glib.h>

#include <algorithm>
#include <optional>

#include "qemu/keymap.h"

namespace vmcast::web {
namespace {

constexpr size_t kMaxNamedCharacters = 5;

// "é" (U+00E9), or U+0007 for a control character.
std::string character_name(gunichar character) {
    char hex[16];
    g_snprintf(hex, sizeof hex, "U+%04X", character);
    if (!g_unichar_isprint(character))
        return hex;
    char utf8[8] = {};
    g_unichar_to_utf8(character, utf8);
    return std::string("\"") + utf8 + "\" (" + hex + ")";
}

std::optional<compositor::LayoutKey> key_for_character(const compositor::LayoutKeys &layout,
                                                       gunichar character) {
    if (character == '\n')
        return compositor::LayoutKey{KEY_ENTER, false, false};
    if (character == '\t')
        return compositor::LayoutKey{KEY_TAB, false, false};
    const xkb_keysym_t keysym = xkb_utf32_to_keysym(character);
    if (keysym == XKB_KEY_NoSymbol)
        return std::nullopt;
    return layout.key_for(keysym);
}

} // namespace

const compositor::LayoutKeys *TypingLayouts::get(const std::string &layout, std::string &error) {
    auto found = layouts_.find(layout);
    if (found != layouts_.end())
        return found->second.get();
    if (!context_)
        context_ = compositor::LayoutKeys::new_context();
    if (!context_) {
        error = "cannot start xkbcommon";
        return nullptr;
    }
    auto keys = compositor::LayoutKeys::create(context_.get(), layout, 4, error);
    if (!keys)
        return nullptr;
    return layouts_.emplace(layout, std::move(keys)).first->second.get();
}

bool strokes_for_text(const compositor::LayoutKeys &layout, const std::string &layout_name,
                      std::string_view text, std::vector<KeyStroke> &strokes, std::string &error) {
    const uint32_t shift = *qemu::qnum_from_evdev(KEY_LEFTSHIFT);
    const uint32_t altgr = *qemu::qnum_from_evdev(KEY_RIGHTALT);
    std::vector<gunichar> untypeable; // the first few, each once
    bool more_untypeable = false;
    for (const char *at = text.data(); at < text.data() + text.size(); at = g_utf8_next_char(at)) {
        const gunichar character = g_utf8_get_char(at);
        if (character == '\r')
            continue;
        const auto key = key_for_character(layout, character);
        const auto qnum = key ? qemu::qnum_from_evdev(key->linux_keycode) : std::nullopt;
        if (!qnum) {
            if (std::find(untypeable.begin(), untypeable.end(), character) != untypeable.end())
                continue;
            if (untypeable.size() < kMaxNamedCharacters)
                untypeable.push_back(character);
            else
                more_untypeable = true;
            continue;
        }
        if (key->altgr)
            strokes.push_back({altgr, true});
        if (key->shift)
            strokes.push_back({shift, true});
        strokes.push_back({*qnum, true});
        strokes.push_back({*qnum, false});
        if (key->shift)
            strokes.push_back({shift, false});
        if (key->altgr)
            strokes.push_back({altgr, false});
    }
    if (untypeable.empty())
        return true;
    error = "the keyboard layout \"" + layout_name + "\" cannot type ";
    for (size_t i = 0; i < untypeable.size(); ++i)
        error += (i ? ", " : "") + character_name(untypeable[i]);
    if (more_untypeable)
        error += " and more";
    error += "; nothing was typed";
    strokes.clear();
    return false;
}

void around_caps_lock(std::vector<KeyStroke> &strokes) {
    const uint32_t caps_lock = *qemu::qnum_from_evdev(KEY_CAPSLOCK);
    const KeyStroke tap[] = {{caps_lock, true}, {caps_lock, false}};
    strokes.insert(strokes.begin(), std::begin(tap), std::end(tap));
    strokes.insert(strokes.end(), std::begin(tap), std::end(tap));
}

} // namespace vmcast::web
