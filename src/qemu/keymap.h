// Key codes for org.qemu.Display1.Keyboard. QEMU takes a "qnum": the XT (PC scan code set 1) make
// code of the key, with the 0xE0-prefixed extended keys folded into 0x80 | code (Right Ctrl,
// E0 1D, is 0x9d). Two keys have no such code and follow QEMU's keycodemapdb instead: Pause
// (really E1 1D 45) is 0xc6, and Print Screen is 0x54, its SysRq code.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace vmcast::qemu {

// The qnum of a Linux input event key code (KEY_* in <linux/input-event-codes.h>), for every key
// a PC keyboard has: the main block, the Japanese, Korean and ISO extra keys, the keypad, F1 to
// F24 and the media and browser keys. nullopt for anything else.
std::optional<uint32_t> qnum_from_evdev(uint32_t linux_keycode);

// The Linux key code of a W3C KeyboardEvent.code ("KeyA", "ShiftLeft", "NumpadEnter"...), with
// the older names some browsers still send ("OSLeft", "VolumeMute"). nullopt for codes that name
// no key on a PC keyboard ("Fn", "NumpadClear") and for unknown or empty codes.
std::optional<uint32_t> evdev_from_browser_code(std::string_view code);

// The qnum of a W3C KeyboardEvent.code, through evdev_from_browser_code and qnum_from_evdev.
std::optional<uint32_t> qnum_from_browser_code(std::string_view code);

// The key that types an ASCII character on a US keyboard layout, and whether Shift is needed.
// '\n' is Enter and '\t' is Tab; nullopt for other control characters and non-ASCII.
struct UsLayoutKey {
    uint32_t linux_keycode;
    bool shift;
};
std::optional<UsLayoutKey> us_layout_key_for(char character);

} // namespace vmcast::qemu
