// The key tables of src/qemu/keymap: Linux key codes and W3C KeyboardEvent.code values to QEMU
// qnums (XT set 1, E0 keys as 0x80 | code), and ASCII to US-layout keys.
#include <linux/input-event-codes.h>

#include <gtest/gtest.h>

#include <map>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "qemu/keymap.h"

using vmcast::qemu::evdev_from_browser_code;
using vmcast::qemu::qnum_from_browser_code;
using vmcast::qemu::qnum_from_evdev;
using vmcast::qemu::us_layout_key_for;

namespace {

// Every KeyboardEvent.code of a full-size PC keyboard, including the ISO, Japanese (JIS) and
// Korean extra keys and the multimedia keys of common keyboards (W3C UI Events code spec),
// separated by spaces.
const char kPcKeyboardCodes[] =
    "Backquote Backslash BracketLeft BracketRight Comma Digit0 Digit1 Digit2 Digit3 Digit4 "
    "Digit5 Digit6 Digit7 Digit8 Digit9 Equal IntlBackslash IntlRo IntlYen KeyA KeyB KeyC "
    "KeyD KeyE KeyF KeyG KeyH KeyI KeyJ KeyK KeyL KeyM KeyN KeyO KeyP KeyQ KeyR KeyS KeyT "
    "KeyU KeyV KeyW KeyX KeyY KeyZ Minus Period Quote Semicolon Slash AltLeft AltRight "
    "Backspace CapsLock ContextMenu ControlLeft ControlRight Enter MetaLeft MetaRight "
    "ShiftLeft ShiftRight Space Tab Convert KanaMode Lang1 Lang2 Lang3 Lang4 Lang5 "
    "NonConvert Delete End Help Home Insert PageDown PageUp ArrowDown ArrowLeft ArrowRight "
    "ArrowUp NumLock Numpad0 Numpad1 Numpad2 Numpad3 Numpad4 Numpad5 Numpad6 Numpad7 Numpad8 "
    "Numpad9 NumpadAdd NumpadComma NumpadDecimal NumpadDivide NumpadEnter NumpadEqual "
    "NumpadMultiply NumpadSubtract Escape F1 F2 F3 F4 F5 F6 F7 F8 F9 F10 F11 F12 F13 F14 F15 "
    "F16 F17 F18 F19 F20 F21 F22 F23 F24 PrintScreen ScrollLock Pause BrowserBack "
    "BrowserFavorites BrowserForward BrowserHome BrowserRefresh BrowserSearch BrowserStop "
    "Eject LaunchApp1 LaunchApp2 LaunchMail MediaPlayPause MediaSelect MediaStop "
    "MediaTrackNext MediaTrackPrevious Power Sleep AudioVolumeDown AudioVolumeMute "
    "AudioVolumeUp WakeUp";

std::vector<std::string> pc_keyboard_codes() {
    std::vector<std::string> codes;
    std::istringstream words(kPcKeyboardCodes);
    for (std::string code; words >> code;)
        codes.push_back(code);
    return codes;
}

} // namespace

TEST(QnumFromEvdev, KnownKeys) {
    EXPECT_EQ(qnum_from_evdev(KEY_ESC), 0x01u);
    EXPECT_EQ(qnum_from_evdev(KEY_A), 0x1eu);
    EXPECT_EQ(qnum_from_evdev(KEY_ENTER), 0x1cu);
    EXPECT_EQ(qnum_from_evdev(KEY_LEFTSHIFT), 0x2au);
    EXPECT_EQ(qnum_from_evdev(KEY_KPDOT), 0x53u);
    EXPECT_EQ(qnum_from_evdev(KEY_KPENTER), 0x9cu);
    EXPECT_EQ(qnum_from_evdev(KEY_RIGHTCTRL), 0x9du);
    EXPECT_EQ(qnum_from_evdev(KEY_RIGHTALT), 0xb8u);
    EXPECT_EQ(qnum_from_evdev(KEY_LEFTMETA), 0xdbu);
    EXPECT_EQ(qnum_from_evdev(KEY_RIGHTMETA), 0xdcu);
    EXPECT_EQ(qnum_from_evdev(KEY_COMPOSE), 0xddu);
    EXPECT_EQ(qnum_from_evdev(KEY_UP), 0xc8u);
    EXPECT_EQ(qnum_from_evdev(KEY_DOWN), 0xd0u);
    EXPECT_EQ(qnum_from_evdev(KEY_LEFT), 0xcbu);
    EXPECT_EQ(qnum_from_evdev(KEY_RIGHT), 0xcdu);
    EXPECT_EQ(qnum_from_evdev(KEY_DELETE), 0xd3u);
    EXPECT_EQ(qnum_from_evdev(KEY_F1), 0x3bu);
    EXPECT_EQ(qnum_from_evdev(KEY_F11), 0x57u);
    EXPECT_EQ(qnum_from_evdev(KEY_F12), 0x58u);
    EXPECT_EQ(qnum_from_evdev(KEY_102ND), 0x56u);
    EXPECT_EQ(qnum_from_evdev(KEY_SYSRQ), 0x54u);
    EXPECT_EQ(qnum_from_evdev(KEY_PAUSE), 0xc6u);
    EXPECT_EQ(qnum_from_evdev(KEY_KPSLASH), 0xb5u);
    EXPECT_EQ(qnum_from_evdev(KEY_MUTE), 0xa0u);
}

TEST(QnumFromEvdev, OriginalKeysAreTheirOwnScanCodes) {
    for (uint32_t key = KEY_ESC; key <= KEY_KPDOT; key++)
        EXPECT_EQ(qnum_from_evdev(key), key) << "KEY " << key;
}

TEST(QnumFromEvdev, EveryPcKeyHasOne) {
    for (uint32_t key : {KEY_F13,
                         KEY_F14,
                         KEY_F15,
                         KEY_F16,
                         KEY_F17,
                         KEY_F18,
                         KEY_F19,
                         KEY_F20,
                         KEY_F21,
                         KEY_F22,
                         KEY_F23,
                         KEY_F24,
                         KEY_RO,
                         KEY_YEN,
                         KEY_HANGEUL,
                         KEY_HANJA,
                         KEY_KATAKANAHIRAGANA,
                         KEY_HENKAN,
                         KEY_MUHENKAN,
                         KEY_KPEQUAL,
                         KEY_KPCOMMA,
                         KEY_HOME,
                         KEY_END,
                         KEY_PAGEUP,
                         KEY_PAGEDOWN,
                         KEY_INSERT,
                         KEY_VOLUMEUP,
                         KEY_VOLUMEDOWN,
                         KEY_PLAYPAUSE,
                         KEY_POWER,
                         KEY_SLEEP})
        EXPECT_TRUE(qnum_from_evdev(key).has_value()) << "KEY " << key;
}

TEST(QnumFromEvdev, NoTwoKeysShareAQnum) {
    // The table has no aliases: a shared qnum would make QEMU see one key for two.
    std::map<uint32_t, uint32_t> key_of_qnum;
    for (uint32_t key = 0; key <= KEY_MAX; key++) {
        const std::optional<uint32_t> qnum = qnum_from_evdev(key);
        if (!qnum)
            continue;
        EXPECT_GT(*qnum, 0u) << "KEY " << key;
        EXPECT_LE(*qnum, 0xffu) << "KEY " << key;
        const auto [existing, inserted] = key_of_qnum.emplace(*qnum, key);
        EXPECT_TRUE(inserted) << "KEY " << key << " and KEY " << existing->second
                              << " both map to qnum 0x" << std::hex << *qnum;
    }
    EXPECT_GE(key_of_qnum.size(), 150u);
}

TEST(QnumFromEvdev, NonKeysHaveNone) {
    EXPECT_FALSE(qnum_from_evdev(KEY_RESERVED).has_value());
    EXPECT_FALSE(qnum_from_evdev(BTN_LEFT).has_value());
    EXPECT_FALSE(qnum_from_evdev(KEY_BLUETOOTH).has_value());
    EXPECT_FALSE(qnum_from_evdev(KEY_MAX).has_value());
    EXPECT_FALSE(qnum_from_evdev(0xffffffffu).has_value());
}

TEST(QnumFromBrowserCode, KnownCodes) {
    EXPECT_EQ(qnum_from_browser_code("KeyA"), 0x1eu);
    EXPECT_EQ(qnum_from_browser_code("Digit1"), 0x02u);
    EXPECT_EQ(qnum_from_browser_code("Enter"), 0x1cu);
    EXPECT_EQ(qnum_from_browser_code("ShiftLeft"), 0x2au);
    EXPECT_EQ(qnum_from_browser_code("ShiftRight"), 0x36u);
    EXPECT_EQ(qnum_from_browser_code("ControlRight"), 0x9du);
    EXPECT_EQ(qnum_from_browser_code("AltRight"), 0xb8u);
    EXPECT_EQ(qnum_from_browser_code("IntlBackslash"), 0x56u);
    EXPECT_EQ(qnum_from_browser_code("NumpadEnter"), 0x9cu);
    EXPECT_EQ(qnum_from_browser_code("ArrowUp"), 0xc8u);
    EXPECT_EQ(qnum_from_browser_code("MetaLeft"), 0xdbu);
    EXPECT_EQ(qnum_from_browser_code("ContextMenu"), 0xddu);
    EXPECT_EQ(qnum_from_browser_code("F1"), 0x3bu);
    EXPECT_EQ(qnum_from_browser_code("F12"), 0x58u);
    EXPECT_EQ(qnum_from_browser_code("F13"), 0x5du);
    EXPECT_EQ(qnum_from_browser_code("F24"), 0x6fu);
    EXPECT_EQ(qnum_from_browser_code("Lang1"), 0xf2u);
    EXPECT_EQ(qnum_from_browser_code("Lang2"), 0xf1u);
    EXPECT_EQ(qnum_from_browser_code("IntlRo"), 0x73u);
    EXPECT_EQ(qnum_from_browser_code("IntlYen"), 0x7du);
    EXPECT_EQ(qnum_from_browser_code("Pause"), 0xc6u);
    EXPECT_EQ(qnum_from_browser_code("PrintScreen"), 0x54u);
}

TEST(QnumFromBrowserCode, EveryPcKeyboardCodeMaps) {
    std::map<uint32_t, std::string> code_of_qnum;
    for (const std::string &code : pc_keyboard_codes()) {
        const std::optional<uint32_t> qnum = qnum_from_browser_code(code);
        ASSERT_TRUE(qnum.has_value()) << code;
        const auto [existing, inserted] = code_of_qnum.emplace(*qnum, code);
        EXPECT_TRUE(inserted) << code << " and " << existing->second << " share a qnum";
    }
}

TEST(QnumFromBrowserCode, GoesThroughTheEvdevTable) {
    for (const std::string &code : pc_keyboard_codes()) {
        const std::optional<uint32_t> key = evdev_from_browser_code(code);
        ASSERT_TRUE(key.has_value()) << code;
        EXPECT_EQ(qnum_from_browser_code(code), qnum_from_evdev(*key)) << code;
    }
    EXPECT_EQ(evdev_from_browser_code("KeyQ"), uint32_t(KEY_Q));
    EXPECT_EQ(evdev_from_browser_code("Backquote"), uint32_t(KEY_GRAVE));
}

TEST(QnumFromBrowserCode, OlderNamesAreAliases) {
    const std::pair<const char *, const char *> aliases[] = {
        {"OSLeft", "MetaLeft"},
        {"OSRight", "MetaRight"},
        {"VolumeMute", "AudioVolumeMute"},
        {"VolumeDown", "AudioVolumeDown"},
        {"VolumeUp", "AudioVolumeUp"},
        {"Hiragana", "Lang4"},
        {"Katakana", "Lang3"},
    };
    for (const auto &[old_name, name] : aliases) {
        ASSERT_TRUE(qnum_from_browser_code(old_name).has_value()) << old_name;
        EXPECT_EQ(qnum_from_browser_code(old_name), qnum_from_browser_code(name)) << old_name;
    }
}

TEST(QnumFromBrowserCode, UnknownCodesGiveNothing) {
    for (const char *code : {"", "Unidentified", "Fn", "FnLock", "NumpadClear", "NumpadHash",
                             "keya", "KEYA", "KeyA ", "Key", "F25", "F0", "Digit10", "a", "Shift"})
        EXPECT_FALSE(qnum_from_browser_code(code).has_value()) << '"' << code << '"';
}

TEST(UsLayoutKey, PrintableAsciiAllTypable) {
    std::set<std::pair<uint32_t, bool>> keystrokes;
    for (char character = ' '; character <= '~'; character++) {
        const auto key = us_layout_key_for(character);
        ASSERT_TRUE(key.has_value()) << "'" << character << "'";
        EXPECT_TRUE(qnum_from_evdev(key->linux_keycode).has_value()) << "'" << character << "'";
        EXPECT_TRUE(keystrokes.emplace(key->linux_keycode, key->shift).second)
            << "'" << character << "' types like another character";
    }
}

TEST(UsLayoutKey, ShiftWhereTheUsLayoutNeedsIt) {
    const auto expect_key = [](char character, uint32_t linux_keycode, bool shift) {
        const auto key = us_layout_key_for(character);
        ASSERT_TRUE(key.has_value()) << "'" << character << "'";
        EXPECT_EQ(key->linux_keycode, linux_keycode) << "'" << character << "'";
        EXPECT_EQ(key->shift, shift) << "'" << character << "'";
    };
    expect_key('a', KEY_A, false);
    expect_key('A', KEY_A, true);
    expect_key('z', KEY_Z, false);
    expect_key('$', KEY_4, true);
    expect_key('(', KEY_9, true);
    expect_key(')', KEY_0, true);
    expect_key('*', KEY_8, true);
    expect_key('>', KEY_DOT, true);
    expect_key('/', KEY_SLASH, false);
    expect_key('"', KEY_APOSTROPHE, true);
    expect_key('|', KEY_BACKSLASH, true);
    expect_key('~', KEY_GRAVE, true);
    expect_key(' ', KEY_SPACE, false);
    expect_key('\n', KEY_ENTER, false);
    expect_key('\t', KEY_TAB, false);
}

TEST(UsLayoutKey, ControlAndNonAsciiGiveNothing) {
    for (char character : {'\0', '\r', '\x1b', '\x7f', char(0xc3), char(0xe9)})
        EXPECT_FALSE(us_layout_key_for(character).has_value()) << int(character);
}
