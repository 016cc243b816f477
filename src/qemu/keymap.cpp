#include "qemu/keymap.h"

#include <linux/input-event-codes.h>

#include <algorithm>
#include <array>

namespace vmcast::qemu {
namespace {

struct EvdevQnum {
    uint16_t linux_keycode;
    uint8_t qnum;
};

// Linux numbers the keys of the original PC/AT keyboard, KEY_ESC (1) to KEY_KPDOT (83), by their
// set 1 make codes, so for those the qnum is the key code itself. The keys below came later;
// their set 1 codes are the ones Linux's atkbd and QEMU's keycodemapdb assign (for F13 and up
// these differ from Microsoft's scan code table, and QEMU decodes with keycodemapdb's).
constexpr uint32_t kLastKeyNumberedByScanCode = KEY_KPDOT;
constexpr EvdevQnum kLaterKeys[] = {
    // ISO, Japanese and Korean keyboards.
    {KEY_ZENKAKUHANKAKU, 0x76},
    {KEY_102ND, 0x56},
    {KEY_RO, 0x73},
    {KEY_KATAKANA, 0x78},
    {KEY_HIRAGANA, 0x77},
    {KEY_HENKAN, 0x79},
    {KEY_KATAKANAHIRAGANA, 0x70},
    {KEY_MUHENKAN, 0x7b},
    {KEY_YEN, 0x7d},
    {KEY_KPCOMMA, 0x7e},
    // Korean keyboards send these as single bytes (F1, F2) with no release code.
    {KEY_HANGEUL, 0xf2},
    {KEY_HANJA, 0xf1},
    {KEY_F11, 0x57},
    {KEY_F12, 0x58},
    // The 101-key keyboard's E0 keys.
    {KEY_KPENTER, 0x9c},   // E0 1C
    {KEY_RIGHTCTRL, 0x9d}, // E0 1D
    {KEY_KPSLASH, 0xb5},   // E0 35
    {KEY_SYSRQ, 0x54},     // Print Screen: its Alt+SysRq code, as QEMU expects
    {KEY_RIGHTALT, 0xb8},  // E0 38
    {KEY_PAUSE, 0xc6},     // E1 1D 45 has no qnum; QEMU uses Ctrl+Break's E0 46
    {KEY_HOME, 0xc7},      // E0 47
    {KEY_UP, 0xc8},        // E0 48
    {KEY_PAGEUP, 0xc9},    // E0 49
    {KEY_LEFT, 0xcb},      // E0 4B
    {KEY_RIGHT, 0xcd},     // E0 4D
    {KEY_END, 0xcf},       // E0 4F
    {KEY_DOWN, 0xd0},      // E0 50
    {KEY_PAGEDOWN, 0xd1},  // E0 51
    {KEY_INSERT, 0xd2},    // E0 52
    {KEY_DELETE, 0xd3},    // E0 53
    // Windows keys (104-key keyboard).
    {KEY_LEFTMETA, 0xdb},  // E0 5B
    {KEY_RIGHTMETA, 0xdc}, // E0 5C
    {KEY_COMPOSE, 0xdd},   // E0 5D, the Menu key
    {KEY_KPEQUAL, 0x59},
    // F13 to F24.
    {KEY_F13, 0x5d},
    {KEY_F14, 0x5e},
    {KEY_F15, 0x5f},
    {KEY_F16, 0x55},
    {KEY_F17, 0x83},
    {KEY_F18, 0xf7},
    {KEY_F19, 0x84},
    {KEY_F20, 0x5a},
    {KEY_F21, 0x74},
    {KEY_F22, 0xf9},
    {KEY_F23, 0x6d},
    {KEY_F24, 0x6f},
    // ACPI and multimedia keys (E0 codes).
    {KEY_POWER, 0xde},
    {KEY_SLEEP, 0xdf},
    {KEY_WAKEUP, 0xe3},
    {KEY_SUSPEND, 0xa5},
    {KEY_MUTE, 0xa0},
    {KEY_VOLUMEDOWN, 0xae},
    {KEY_VOLUMEUP, 0xb0},
    {KEY_NEXTSONG, 0x99},
    {KEY_PLAYPAUSE, 0xa2},
    {KEY_PREVIOUSSONG, 0x90},
    {KEY_STOPCD, 0xa4},
    {KEY_MEDIA, 0xed},
    {KEY_EJECTCLOSECD, 0xfd},
    {KEY_MAIL, 0xec},
    {KEY_CALC, 0xa1},
    {KEY_COMPUTER, 0xeb},
    {KEY_SEARCH, 0xe5},
    {KEY_HOMEPAGE, 0xb2},
    {KEY_BACK, 0xea},
    {KEY_FORWARD, 0xe9},
    {KEY_STOP, 0xe8},
    {KEY_REFRESH, 0xe7},
    {KEY_BOOKMARKS, 0xe6},
    // Editing keys of Sun-style and some laptop keyboards.
    {KEY_AGAIN, 0x85},
    {KEY_PROPS, 0x86},
    {KEY_UNDO, 0x87},
    {KEY_COPY, 0xf8},
    {KEY_OPEN, 0x64},
    {KEY_PASTE, 0x65},
    {KEY_FIND, 0xc1},
    {KEY_CUT, 0xbc},
    {KEY_HELP, 0xf5},
    {KEY_KPLEFTPAREN, 0xf6},
    {KEY_KPRIGHTPAREN, 0xfb},
};

constexpr size_t kEvdevTableSize = 256;

constexpr std::array<uint8_t, kEvdevTableSize> make_qnum_by_evdev() {
    std::array<uint8_t, kEvdevTableSize> table{}; // 0: no qnum
    for (uint32_t key = KEY_ESC; key <= kLastKeyNumberedByScanCode; key++)
        table[key] = uint8_t(key);
    for (const EvdevQnum &entry : kLaterKeys)
        table[entry.linux_keycode] = entry.qnum;
    return table;
}
constexpr std::array<uint8_t, kEvdevTableSize> kQnumByEvdev = make_qnum_by_evdev();

struct BrowserCode {
    std::string_view code;
    uint16_t linux_keycode;
};

// W3C UI Events KeyboardEvent code values (https://www.w3.org/TR/uievents-code/).
constexpr BrowserCode kBrowserCodes[] = {
    // Writing system keys.
    {"Backquote", KEY_GRAVE},
    {"Backslash", KEY_BACKSLASH},
    {"BracketLeft", KEY_LEFTBRACE},
    {"BracketRight", KEY_RIGHTBRACE},
    {"Comma", KEY_COMMA},
    {"Digit0", KEY_0},
    {"Digit1", KEY_1},
    {"Digit2", KEY_2},
    {"Digit3", KEY_3},
    {"Digit4", KEY_4},
    {"Digit5", KEY_5},
    {"Digit6", KEY_6},
    {"Digit7", KEY_7},
    {"Digit8", KEY_8},
    {"Digit9", KEY_9},
    {"Equal", KEY_EQUAL},
    {"IntlBackslash", KEY_102ND},
    {"IntlRo", KEY_RO},
    {"IntlYen", KEY_YEN},
    {"KeyA", KEY_A},
    {"KeyB", KEY_B},
    {"KeyC", KEY_C},
    {"KeyD", KEY_D},
    {"KeyE", KEY_E},
    {"KeyF", KEY_F},
    {"KeyG", KEY_G},
    {"KeyH", KEY_H},
    {"KeyI", KEY_I},
    {"KeyJ", KEY_J},
    {"KeyK", KEY_K},
    {"KeyL", KEY_L},
    {"KeyM", KEY_M},
    {"KeyN", KEY_N},
    {"KeyO", KEY_O},
    {"KeyP", KEY_P},
    {"KeyQ", KEY_Q},
    {"KeyR", KEY_R},
    {"KeyS", KEY_S},
    {"KeyT", KEY_T},
    {"KeyU", KEY_U},
    {"KeyV", KEY_V},
    {"KeyW", KEY_W},
    {"KeyX", KEY_X},
    {"KeyY", KEY_Y},
    {"KeyZ", KEY_Z},
    {"Minus", KEY_MINUS},
    {"Period", KEY_DOT},
    {"Quote", KEY_APOSTROPHE},
    {"Semicolon", KEY_SEMICOLON},
    {"Slash", KEY_SLASH},
    // Functional keys.
    {"AltLeft", KEY_LEFTALT},
    {"AltRight", KEY_RIGHTALT},
    {"Backspace", KEY_BACKSPACE},
    {"CapsLock", KEY_CAPSLOCK},
    {"ContextMenu", KEY_COMPOSE},
    {"ControlLeft", KEY_LEFTCTRL},
    {"ControlRight", KEY_RIGHTCTRL},
    {"Enter", KEY_ENTER},
    {"MetaLeft", KEY_LEFTMETA},
    {"MetaRight", KEY_RIGHTMETA},
    {"ShiftLeft", KEY_LEFTSHIFT},
    {"ShiftRight", KEY_RIGHTSHIFT},
    {"Space", KEY_SPACE},
    {"Tab", KEY_TAB},
    // Japanese and Korean keys.
    {"Convert", KEY_HENKAN},
    {"KanaMode", KEY_KATAKANAHIRAGANA},
    {"Lang1", KEY_HANGEUL},
    {"Lang2", KEY_HANJA},
    {"Lang3", KEY_KATAKANA},
    {"Lang4", KEY_HIRAGANA},
    {"Lang5", KEY_ZENKAKUHANKAKU},
    {"NonConvert", KEY_MUHENKAN},
    // Control pad and arrow pad.
    {"Delete", KEY_DELETE},
    {"End", KEY_END},
    {"Help", KEY_HELP},
    {"Home", KEY_HOME},
    {"Insert", KEY_INSERT},
    {"PageDown", KEY_PAGEDOWN},
    {"PageUp", KEY_PAGEUP},
    {"ArrowDown", KEY_DOWN},
    {"ArrowLeft", KEY_LEFT},
    {"ArrowRight", KEY_RIGHT},
    {"ArrowUp", KEY_UP},
    // Numpad.
    {"NumLock", KEY_NUMLOCK},
    {"Numpad0", KEY_KP0},
    {"Numpad1", KEY_KP1},
    {"Numpad2", KEY_KP2},
    {"Numpad3", KEY_KP3},
    {"Numpad4", KEY_KP4},
    {"Numpad5", KEY_KP5},
    {"Numpad6", KEY_KP6},
    {"Numpad7", KEY_KP7},
    {"Numpad8", KEY_KP8},
    {"Numpad9", KEY_KP9},
    {"NumpadAdd", KEY_KPPLUS},
    {"NumpadComma", KEY_KPCOMMA},
    {"NumpadDecimal", KEY_KPDOT},
    {"NumpadDivide", KEY_KPSLASH},
    {"NumpadEnter", KEY_KPENTER},
    {"NumpadEqual", KEY_KPEQUAL},
    {"NumpadMultiply", KEY_KPASTERISK},
    {"NumpadParenLeft", KEY_KPLEFTPAREN},
    {"NumpadParenRight", KEY_KPRIGHTPAREN},
    {"NumpadSubtract", KEY_KPMINUS},
    // Function section.
    {"Escape", KEY_ESC},
    {"F1", KEY_F1},
    {"F2", KEY_F2},
    {"F3", KEY_F3},
    {"F4", KEY_F4},
    {"F5", KEY_F5},
    {"F6", KEY_F6},
    {"F7", KEY_F7},
    {"F8", KEY_F8},
    {"F9", KEY_F9},
    {"F10", KEY_F10},
    {"F11", KEY_F11},
    {"F12", KEY_F12},
    {"F13", KEY_F13},
    {"F14", KEY_F14},
    {"F15", KEY_F15},
    {"F16", KEY_F16},
    {"F17", KEY_F17},
    {"F18", KEY_F18},
    {"F19", KEY_F19},
    {"F20", KEY_F20},
    {"F21", KEY_F21},
    {"F22", KEY_F22},
    {"F23", KEY_F23},
    {"F24", KEY_F24},
    {"PrintScreen", KEY_SYSRQ},
    {"ScrollLock", KEY_SCROLLLOCK},
    {"Pause", KEY_PAUSE},
    // Media keys.
    {"BrowserBack", KEY_BACK},
    {"BrowserFavorites", KEY_BOOKMARKS},
    {"BrowserForward", KEY_FORWARD},
    {"BrowserHome", KEY_HOMEPAGE},
    {"BrowserRefresh", KEY_REFRESH},
    {"BrowserSearch", KEY_SEARCH},
    {"BrowserStop", KEY_STOP},
    {"Eject", KEY_EJECTCLOSECD},
    {"LaunchApp1", KEY_COMPUTER},
    {"LaunchApp2", KEY_CALC},
    {"LaunchMail", KEY_MAIL},
    {"MediaPlayPause", KEY_PLAYPAUSE},
    {"MediaSelect", KEY_MEDIA},
    {"MediaStop", KEY_STOPCD},
    {"MediaTrackNext", KEY_NEXTSONG},
    {"MediaTrackPrevious", KEY_PREVIOUSSONG},
    {"Power", KEY_POWER},
    {"Sleep", KEY_SLEEP},
    {"AudioVolumeDown", KEY_VOLUMEDOWN},
    {"AudioVolumeMute", KEY_MUTE},
    {"AudioVolumeUp", KEY_VOLUMEUP},
    {"WakeUp", KEY_WAKEUP},
    // Legacy keys the spec still lists.
    {"Again", KEY_AGAIN},
    {"Copy", KEY_COPY},
    {"Cut", KEY_CUT},
    {"Find", KEY_FIND},
    {"Open", KEY_OPEN},
    {"Paste", KEY_PASTE},
    {"Props", KEY_PROPS},
    {"Suspend", KEY_SUSPEND},
    {"Undo", KEY_UNDO},
    {"Hiragana", KEY_HIRAGANA},
    {"Katakana", KEY_KATAKANA},
    // Names older Firefox and Chrome versions send instead of the current ones.
    {"OSLeft", KEY_LEFTMETA},
    {"OSRight", KEY_RIGHTMETA},
    {"VolumeDown", KEY_VOLUMEDOWN},
    {"VolumeMute", KEY_MUTE},
    {"VolumeUp", KEY_VOLUMEUP}};

struct CharacterKey {
    char unshifted;
    char shifted; // '\0' when Shift gives no other character worth typing
    uint16_t linux_keycode;
};

// The US (ANSI) layout.
constexpr CharacterKey kUsLayout[] = {
    {'`', '~', KEY_GRAVE},       {'1', '!', KEY_1},          {'2', '@', KEY_2},
    {'3', '#', KEY_3},           {'4', '$', KEY_4},          {'5', '%', KEY_5},
    {'6', '^', KEY_6},           {'7', '&', KEY_7},          {'8', '*', KEY_8},
    {'9', '(', KEY_9},           {'0', ')', KEY_0},          {'-', '_', KEY_MINUS},
    {'=', '+', KEY_EQUAL},       {'q', 'Q', KEY_Q},          {'w', 'W', KEY_W},
    {'e', 'E', KEY_E},           {'r', 'R', KEY_R},          {'t', 'T', KEY_T},
    {'y', 'Y', KEY_Y},           {'u', 'U', KEY_U},          {'i', 'I', KEY_I},
    {'o', 'O', KEY_O},           {'p', 'P', KEY_P},          {'[', '{', KEY_LEFTBRACE},
    {']', '}', KEY_RIGHTBRACE},  {'\\', '|', KEY_BACKSLASH}, {'a', 'A', KEY_A},
    {'s', 'S', KEY_S},           {'d', 'D', KEY_D},          {'f', 'F', KEY_F},
    {'g', 'G', KEY_G},           {'h', 'H', KEY_H},          {'j', 'J', KEY_J},
    {'k', 'K', KEY_K},           {'l', 'L', KEY_L},          {';', ':', KEY_SEMICOLON},
    {'\'', '"', KEY_APOSTROPHE}, {'z', 'Z', KEY_Z},          {'x', 'X', KEY_X},
    {'c', 'C', KEY_C},           {'v', 'V', KEY_V},          {'b', 'B', KEY_B},
    {'n', 'N', KEY_N},           {'m', 'M', KEY_M},          {',', '<', KEY_COMMA},
    {'.', '>', KEY_DOT},         {'/', '?', KEY_SLASH},      {' ', '\0', KEY_SPACE},
    {'\n', '\0', KEY_ENTER},     {'\t', '\0', KEY_TAB}};

} // namespace

std::optional<uint32_t> qnum_from_evdev(uint32_t linux_keycode) {
    if (linux_keycode >= kQnumByEvdev.size() || kQnumByEvdev[linux_keycode] == 0)
        return std::nullopt;
    return kQnumByEvdev[linux_keycode];
}

std::optional<uint32_t> evdev_from_browser_code(std::string_view code) {
    const auto *found =
        std::find_if(std::begin(kBrowserCodes), std::end(kBrowserCodes),
                     [code](const BrowserCode &entry) { return entry.code == code; });
    if (found == std::end(kBrowserCodes))
        return std::nullopt;
    return found->linux_keycode;
}

std::optional<uint32_t> qnum_from_browser_code(std::string_view code) {
    const std::optional<uint32_t> linux_keycode = evdev_from_browser_code(code);
    return linux_keycode ? qnum_from_evdev(*linux_keycode) : std::nullopt;
}

std::optional<UsLayoutKey> us_layout_key_for(char character) {
    if (character == '\0')
        return std::nullopt;
    for (const CharacterKey &key : kUsLayout) {
        if (key.unshifted == character)
            return UsLayoutKey{key.linux_keycode, false};
        if (key.shifted == character)
            return UsLayoutKey{key.linux_keycode, true};
    }
    return std::nullopt;
}

} // namespace vmcast::qemu
