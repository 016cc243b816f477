#include "compositor/keymap_translator.h"

#include <linux/input-event-codes.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include <glib.h>

#include "common/glib_ptr.h"

namespace vmcast::compositor {
namespace {

// A full evdev keymap is about 60 KiB; wtype's are a few KiB.
constexpr uint32_t kMaxKeymapBytes = 1024 * 1024;

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
    struct stat info = {};
    if (fstat(fd, &info) != 0 || !S_ISREG(info.st_mode)) {
        error = "its keymap is not a file";
        return nullptr;
    }
    if (size == 0 || size > kMaxKeymapBytes) {
        error = "its keymap's size " + std::to_string(size) + " is not 1 to " +
                std::to_string(kMaxKeymapBytes) + " bytes";
        return nullptr;
    }
    // Read, not mapped: the client can shrink the file under a mapping, and reading a mapping
    // past a file's end kills the reader with SIGBUS.
    std::vector<char> text(size);
    size_t done = 0;
    while (done < size) {
        const ssize_t got = pread(fd, text.data() + done, size - done, off_t(done));
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0) {
            error = "its keymap cannot be read whole";
            return nullptr;
        }
        done += size_t(got);
    }
    // Clients send the text with its terminating NUL; xkbcommon wants the text only.
    const size_t length = strnlen(text.data(), text.size());
    XkbKeymapPtr keymap(xkb_keymap_new_from_buffer(context_.get(), text.data(), length,
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
