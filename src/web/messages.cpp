#include "web/messages.h"

#include "common/json_text.h"

#include <json-glib/json-glib.h>

#include <linux/input-event-codes.h>

#include <cmath>
#include <optional>

#include "common/glib_ptr.h"
#include "qemu/keymap.h"

namespace vmcast::web {
namespace {

constexpr int64_t kMaxMotion = 10000; // pixels in one relative event
constexpr int64_t kMaxWheelSteps = 100;
constexpr int64_t kMaxCoordinate = 65535;
constexpr uint32_t kMaxMlineIndex = 15;
constexpr int64_t kMaxPhysicalMm = 10000; // a 10 m wide window is no window

std::optional<qemu::TouchKind> touch_kind(std::string_view name) {
    using qemu::TouchKind;
    constexpr std::pair<std::string_view, TouchKind> kKinds[] = {{"begin", TouchKind::Begin},
                                                                 {"update", TouchKind::Update},
                                                                 {"end", TouchKind::End},
                                                                 {"cancel", TouchKind::Cancel}};
    for (const auto &[known, kind] : kKinds)
        if (name == known)
            return kind;
    return std::nullopt;
}

bool within_size(std::string_view text, size_t max_bytes, std::string &error) {
    if (text.size() <= max_bytes)
        return true;
    error = "message of " + std::to_string(text.size()) + " bytes (at most " +
            std::to_string(max_bytes) + ")";
    return false;
}

// The top-level object of text and its "type" member, or an error.
class ParsedMessage {
  public:
    bool parse(std::string_view text, size_t max_bytes, std::string &error) {
        if (!within_size(text, max_bytes, error))
            return false;
        if (!is_one_json_value(text)) {
            error = "malformed JSON: more than one value";
            return false;
        }
        GError *raw_error = nullptr;
        if (!json_parser_load_from_data(parser_.get(), text.data(), gssize(text.size()),
                                        &raw_error)) {
            GErrorPtr owned(raw_error);
            error = std::string("malformed JSON: ") + owned->message;
            return false;
        }
        JsonNode *root = json_parser_get_root(parser_.get());
        if (!root || !JSON_NODE_HOLDS_OBJECT(root)) {
            error = "a message must be a JSON object";
            return false;
        }
        object_ = json_node_get_object(root);
        const auto type = string("type");
        if (!type) {
            error = "a message needs a string \"type\"";
            return false;
        }
        type_ = *type;
        return true;
    }

    const std::string &type() const { return type_; }

    std::optional<std::string> string(const char *name) const {
        JsonNode *node = json_object_get_member(object_, name);
        if (!node || !JSON_NODE_HOLDS_VALUE(node) ||
            json_node_get_value_type(node) != G_TYPE_STRING)
            return std::nullopt;
        return std::string(json_node_get_string(node));
    }

    // An integral number within [min, max].
    std::optional<int64_t> integer(const char *name, int64_t min, int64_t max) const {
        JsonNode *node = json_object_get_member(object_, name);
        if (!node || !JSON_NODE_HOLDS_VALUE(node))
            return std::nullopt;
        int64_t value = 0;
        const GType type = json_node_get_value_type(node);
        if (type == G_TYPE_INT64) {
            value = json_node_get_int(node);
        } else if (type == G_TYPE_DOUBLE) {
            const double number = json_node_get_double(node);
            if (!std::isfinite(number) || number != std::floor(number) || std::fabs(number) > 1e15)
                return std::nullopt;
            value = int64_t(number);
        } else {
            return std::nullopt;
        }
        if (value < min || value > max)
            return std::nullopt;
        return value;
    }

    std::optional<bool> boolean(const char *name) const {
        JsonNode *node = json_object_get_member(object_, name);
        if (!node || !JSON_NODE_HOLDS_VALUE(node) ||
            json_node_get_value_type(node) != G_TYPE_BOOLEAN)
            return std::nullopt;
        return bool(json_node_get_boolean(node));
    }

  private:
    GObjectPtr<JsonParser> parser_{json_parser_new_immutable()};
    JsonObject *object_ = nullptr;
    std::string type_;
};

bool missing(const char *what, std::string &error) {
    error = what;
    return false;
}

// The toolbar's combinations a browser cannot send itself (its own shortcuts, or keys it keeps).
struct ComboKeys {
    std::string name;
    std::vector<uint32_t> linux_keycodes;
};
const std::vector<ComboKeys> &combos() {
    static const std::vector<ComboKeys> table = [] {
        std::vector<ComboKeys> made = {
            {"ctrl-alt-del", {KEY_LEFTCTRL, KEY_LEFTALT, KEY_DELETE}},
            {"ctrl-alt-backspace", {KEY_LEFTCTRL, KEY_LEFTALT, KEY_BACKSPACE}},
            {"print", {KEY_SYSRQ}},              // Print Screen
            {"sysrq", {KEY_LEFTALT, KEY_SYSRQ}}, // Alt+Print Screen is SysRq
            {"super", {KEY_LEFTMETA}},
        };
        static const uint32_t function_keys[] = {KEY_F1, KEY_F2, KEY_F3, KEY_F4,  KEY_F5,  KEY_F6,
                                                 KEY_F7, KEY_F8, KEY_F9, KEY_F10, KEY_F11, KEY_F12};
        for (size_t i = 0; i < 12; ++i)
            made.push_back({"ctrl-alt-f" + std::to_string(i + 1),
                            {KEY_LEFTCTRL, KEY_LEFTALT, function_keys[i]}});
        return made;
    }();
    return table;
}

bool known_layout(const std::string &name) {
    for (const char *layout : kTypingLayouts)
        if (name == layout)
            return true;
    return false;
}

} // namespace

bool parse_signalling(std::string_view text, SignallingMessage &message, std::string &error) {
    ParsedMessage json;
    if (!json.parse(text, kMaxSignallingMessageBytes, error))
        return false;
    if (json.type() == "answer") {
        auto sdp = json.string("sdp");
        if (!sdp || sdp->empty())
            return missing("an answer needs a non-empty string \"sdp\"", error);
        message = SdpAnswer{std::move(*sdp)};
        return true;
    }
    if (json.type() == "ice") {
        auto candidate = json.string("candidate");
        auto index = json.integer("sdpMLineIndex", 0, kMaxMlineIndex);
        if (!candidate || !index || candidate->size() > 1024)
            return missing("an ice message needs a string \"candidate\" (at most 1024 bytes) "
                           "and \"sdpMLineIndex\" 0 to 15",
                           error);
        message = RemoteCandidate{std::move(*candidate), uint32_t(*index)};
        return true;
    }
    error = "unknown message type \"" + json.type().substr(0, 32) + "\"";
    return false;
}

bool parse_input(std::string_view text, InputMessage &message, std::string &error) {
    ParsedMessage json;
    if (!json.parse(text, kMaxClipboardMessageBytes, error))
        return false;
    const std::string &type = json.type();
    if (type == "clipboard") {
        auto piece = json.string("text");
        auto last = json.boolean("last");
        if (!piece || !last)
            return missing("a clipboard message needs a string \"text\" and a boolean \"last\"",
                           error);
        message = ClipboardPiece{std::move(*piece), *last};
        return true;
    }
    if (type == "type") {
        if (!within_size(text, kMaxTypeMessageBytes, error))
            return false;
        auto typed = json.string("text");
        auto layout = json.string("layout");
        if (!typed || typed->empty() || !layout)
            return missing("a type message needs a non-empty string \"text\" and a string "
                           "\"layout\"",
                           error);
        const auto characters = size_t(g_utf8_strlen(typed->c_str(), gssize(typed->size())));
        if (characters > kMaxTypedCharacters) {
            error = "a text of " + std::to_string(characters) +
                    " characters is too long to type (at most " +
                    std::to_string(kMaxTypedCharacters) + ")";
            return false;
        }
        if (!known_layout(*layout)) {
            error = "unknown keyboard layout \"" + layout->substr(0, 32) + "\"";
            return false;
        }
        message = TypeText{std::move(*typed), std::move(*layout)};
        return true;
    }
    if (!within_size(text, kMaxInputMessageBytes, error))
        return false;
    if (type == "key") {
        auto code = json.string("code");
        auto down = json.boolean("down");
        if (!code || !down)
            return missing("a key message needs a string \"code\" and a boolean \"down\"", error);
        auto qnum = qemu::qnum_from_browser_code(*code);
        if (!qnum) {
            error = "unknown key code \"" + code->substr(0, 32) + "\"";
            return false;
        }
        message = KeyEvent{*qnum, *down};
        return true;
    }
    if (type == "move") {
        auto x = json.integer("x", 0, kMaxCoordinate);
        auto y = json.integer("y", 0, kMaxCoordinate);
        if (!x || !y)
            return missing("a move message needs integers \"x\" and \"y\" from 0 to 65535", error);
        message = PointerPosition{int32_t(*x), int32_t(*y)};
        return true;
    }
    if (type == "motion") {
        auto dx = json.integer("dx", -kMaxMotion, kMaxMotion);
        auto dy = json.integer("dy", -kMaxMotion, kMaxMotion);
        if (!dx || !dy)
            return missing("a motion message needs integers \"dx\" and \"dy\" within ±10000",
                           error);
        message = PointerMotion{int32_t(*dx), int32_t(*dy)};
        return true;
    }
    if (type == "button") {
        auto button = json.integer("button", 0, 8);
        auto down = json.boolean("down");
        if (!button || !down)
            return missing("a button message needs \"button\" 0 to 8 and a boolean \"down\"",
                           error);
        message = ButtonEvent{uint32_t(*button), *down};
        return true;
    }
    if (type == "wheel") {
        auto dx = json.integer("dx", -kMaxWheelSteps, kMaxWheelSteps);
        auto dy = json.integer("dy", -kMaxWheelSteps, kMaxWheelSteps);
        if (!dx || !dy)
            return missing("a wheel message needs integer steps \"dx\" and \"dy\" within ±100",
                           error);
        message = WheelEvent{int32_t(*dy), int32_t(*dx)};
        return true;
    }
    if (type == "resize") {
        auto width = json.integer("width", kMinDisplayWidth, kMaxDisplayDimension);
        auto height = json.integer("height", kMinDisplayHeight, kMaxDisplayDimension);
        auto width_mm = json.integer("widthMm", 0, kMaxPhysicalMm);
        auto height_mm = json.integer("heightMm", 0, kMaxPhysicalMm);
        if (!width || !height || !width_mm || !height_mm)
            return missing("a resize message needs \"width\" 320 to 8192, \"height\" 200 to "
                           "8192 and \"widthMm\", \"heightMm\" 0 to 10000",
                           error);
        message = DisplaySize{uint32_t(*width), uint32_t(*height), uint16_t(*width_mm),
                              uint16_t(*height_mm)};
        return true;
    }
    if (type == "touch") {
        auto kind = touch_kind(json.string("kind").value_or(""));
        auto slot = json.integer("slot", 0, kMaxTouchSlot);
        auto x = json.integer("x", 0, kMaxCoordinate);
        auto y = json.integer("y", 0, kMaxCoordinate);
        if (!kind || !slot || !x || !y)
            return missing("a touch message needs \"kind\" begin, update, end or cancel, "
                           "\"slot\" 0 to 9 and integers \"x\", \"y\" from 0 to 65535",
                           error);
        message = TouchEvent{*kind, uint32_t(*slot), double(*x), double(*y)};
        return true;
    }
    if (type == "release") {
        message = ReleaseAll{};
        return true;
    }
    if (type == "combo") {
        auto name = json.string("name");
        if (!name)
            return missing("a combo message needs a string \"name\"", error);
        for (const ComboKeys &combo : combos()) {
            if (*name != combo.name)
                continue;
            KeyCombo keys{*name, {}};
            for (uint32_t linux_keycode : combo.linux_keycodes)
                keys.qnums.push_back(*qemu::qnum_from_evdev(linux_keycode));
            message = std::move(keys);
            return true;
        }
        error = "unknown key combination \"" + name->substr(0, 32) + "\"";
        return false;
    }
    if (type == "cancel-typing") {
        message = CancelTyping{};
        return true;
    }
    if (type == "microphone") {
        const auto on = json.boolean("on");
        if (!on)
            return missing("a microphone message needs a boolean \"on\"", error);
        message = MicrophoneSwitch{*on};
        return true;
    }
    error = "unknown input type \"" + type.substr(0, 32) + "\"";
    return false;
}

std::string input_type(std::string_view text) {
    ParsedMessage json;
    std::string error;
    return json.parse(text, kMaxInputMessageBytes, error) ? json.type() : std::string();
}

std::string json_text(JsonBuilder *builder) {
    JsonNode *root = json_builder_get_root(builder);
    GCharPtr text(json_to_string(root, FALSE));
    json_node_unref(root);
    return text.get();
}

std::string json_message(std::initializer_list<std::pair<const char *, std::string_view>> strings,
                         const char *int_name, int64_t int_value) {
    GObjectPtr<JsonBuilder> builder(json_builder_new());
    json_builder_begin_object(builder.get());
    for (const auto &[name, value] : strings) {
        json_builder_set_member_name(builder.get(), name);
        json_builder_add_string_value(builder.get(), std::string(value).c_str());
    }
    if (int_name) {
        json_builder_set_member_name(builder.get(), int_name);
        json_builder_add_int_value(builder.get(), int_value);
    }
    json_builder_end_object(builder.get());
    return json_text(builder.get());
}

std::string error_message_json(std::string_view message) {
    return json_message({{"type", "error"}, {"message", message}});
}

} // namespace vmcast::web
