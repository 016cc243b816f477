#include "compositor/keymap_translator.h"

#include <linux/input-event-codes.h>
#include <cstring>

#include <glib.h>

#include "common/glib_ptr.h"
#include "compositor/client_keymap_file.h"

namespace vmcast::compositor {

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
    translator->context_ = LayoutKeys::new_context();
    if (!translator->context_) {
        error = "cannot start xkbcommon";
        return nullptr;
    }
    // Levels 1 and 2: a guest with a US layout has nothing at AltGr.
    translator->us_keys_ = LayoutKeys::create(translator->context_.get(), "us", 2, error);
    if (!translator->us_keys_)
        return nullptr;
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
    return us_keys_->key_for(keysym);
}

} // namespace vmcast::compositor
