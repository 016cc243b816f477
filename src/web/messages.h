// The JSON messages a browser sends vmcast: signalling on the WebSocket, input on the "input"
// data channel. Everything is untrusted: each parser checks size, types and ranges and gives a
// one-line reason for what it refuses.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "qemu/console_input.h"

typedef struct _JsonBuilder JsonBuilder;

namespace vmcast::web {

// Larger messages are refused before parsing (an SDP answer is 2 to 6 KiB).
constexpr size_t kMaxSignallingMessageBytes = 64 * 1024;
constexpr size_t kMaxInputMessageBytes = 1024;
// A clipboard text comes in pieces, each within one SCTP message of webrtcbin's data channel.
constexpr size_t kMaxClipboardMessageBytes = 64 * 1024;
// A display size for the VM: from a small window to the largest a guest's driver likely takes.
constexpr uint32_t kMinDisplayWidth = 320;
constexpr uint32_t kMinDisplayHeight = 200;
constexpr uint32_t kMaxDisplayDimension = 8192;
// QEMU's INPUT_EVENT_SLOTS_MAX is 10 touch points.
constexpr uint32_t kMaxTouchSlot = 9;

struct SdpAnswer {
    std::string sdp;
};
struct RemoteCandidate {
    std::string candidate; // empty: the browser has no more candidates
    uint32_t mline_index = 0;
};
using SignallingMessage = std::variant<SdpAnswer, RemoteCandidate>;

struct KeyEvent {
    uint32_t qnum = 0;
    bool down = false;
};
struct PointerPosition { // console pixels
    int32_t x = 0;
    int32_t y = 0;
};
struct PointerMotion {
    int32_t dx = 0;
    int32_t dy = 0;
};
struct ButtonEvent {
    uint32_t button = 0; // org.qemu.Display1.Mouse numbering, 0 to 8
    bool down = false;
};
struct WheelEvent {
    int32_t vertical_steps = 0;   // positive: down
    int32_t horizontal_steps = 0; // positive: right
};
struct ReleaseAll {}; // the page lost focus
// The page's window size for the VM's display (org.qemu.Display1.Console.SetUIInfo).
struct DisplaySize {
    uint32_t width = 0; // pixels
    uint32_t height = 0;
    uint16_t width_mm = 0; // the window's physical size, for the guest's DPI; 0: unknown
    uint16_t height_mm = 0;
};
// One touch point, in console pixels (org.qemu.Display1.MultiTouch.SendEvent).
struct TouchEvent {
    qemu::TouchKind kind = qemu::TouchKind::Begin;
    uint32_t slot = 0; // 0 to kMaxTouchSlot
    double x = 0;
    double y = 0;
};
struct ClipboardPiece {
    std::string text;
    bool last = false; // the text is complete with this piece
};
struct KeyCombo { // a toolbar combination, as qnums pressed in order and released in reverse
    std::string name;
    std::vector<uint32_t> qnums;
};
struct TypeText { // text to type as key presses in the guest's keyboard layout
    std::string text;
    std::string layout;
};
struct CancelTyping {};
struct MicrophoneSwitch { // the page sends its microphone's sound to the VM, or stops
    bool on = false;
};
using InputMessage = std::variant<KeyEvent, PointerPosition, PointerMotion, ButtonEvent, WheelEvent,
                                  ReleaseAll, ClipboardPiece, DisplaySize, TouchEvent, KeyCombo,
                                  TypeText, CancelTyping, MicrophoneSwitch>;

// The most characters one "type" message may type, and so its most bytes: each character at
// most 4 bytes of UTF-8 (or a 2-byte JSON escape), plus the other members.
constexpr size_t kMaxTypedCharacters = 2000;
constexpr size_t kMaxTypeMessageBytes = kMaxTypedCharacters * 4 + 256;
// The XKB layouts "type" knows, "us" first (the default).
constexpr const char *kTypingLayouts[] = {"us", "gb", "de", "fr", "es", "it", "ch", "be",
                                          "nl", "pt", "br", "se", "no", "dk", "fi", "pl"};

// true and the message, or false and why not in error.
bool parse_signalling(std::string_view text, SignallingMessage &message, std::string &error);
bool parse_input(std::string_view text, InputMessage &message, std::string &error);
// The "type" of an input message of at most kMaxInputMessageBytes, or empty: all a view-only
// viewer's refusal needs, without the rest of the checks.
std::string input_type(std::string_view text);

// The builder's finished value as compact JSON text.
std::string json_text(JsonBuilder *builder);
// A JSON object of string members, and optionally one integer member (vmcast's messages to a
// page are of this shape).
std::string json_message(std::initializer_list<std::pair<const char *, std::string_view>> strings,
                         const char *int_name = nullptr, int64_t int_value = 0);

// {"type":"error","message":...}, for telling a browser what was refused.
std::string error_message_json(std::string_view message);

} // namespace vmcast::web
