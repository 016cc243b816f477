// Minimal JSON writer for the line-oriented output of vmcast-frame-consumer.
//
// The tool must not depend on anything but libpipewire, so this hand-rolled builder produces one
// JSON object per line. Integration tests parse these lines; keep the output strictly valid JSON
// (escaped strings, no NaN/inf).
#pragma once

#include <concepts>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>

namespace vmcast_tools {

// Returns `text` as a quoted JSON string literal.
inline std::string json_quote(std::string_view text) {
    std::string out;
    out.reserve(text.size() + 2);
    out.push_back('"');
    for (char c : text) {
        switch (c) {
        case '"':
            out += "\\\"";
            break;
        case '\\':
            out += "\\\\";
            break;
        case '\n':
            out += "\\n";
            break;
        case '\r':
            out += "\\r";
            break;
        case '\t':
            out += "\\t";
            break;
        default:
            if (static_cast<unsigned char>(c) < 0x20) {
                char escaped[8];
                std::snprintf(escaped, sizeof(escaped), "\\u%04x", static_cast<unsigned>(c));
                out += escaped;
            } else {
                out.push_back(c);
            }
        }
    }
    out.push_back('"');
    return out;
}

// Builds a JSON array from already-encoded JSON values.
class JsonArray {
  public:
    template <std::integral T>
    requires(!std::same_as<T, bool>) JsonArray &add(T value) {
        return add_raw(std::to_string(value));
    }
    JsonArray &add(std::string_view text) { return add_raw(json_quote(text)); }
    JsonArray &add(const char *text) { return add(std::string_view(text)); }
    JsonArray &add_raw(std::string_view json) {
        if (!body_.empty())
            body_.push_back(',');
        body_ += json;
        return *this;
    }
    std::string str() const { return "[" + body_ + "]"; }

  private:
    std::string body_;
};

// Builds a JSON object; keys are emitted in insertion order.
class JsonObject {
  public:
    template <std::integral T>
    requires(!std::same_as<T, bool>) JsonObject &add(std::string_view key, T value) {
        return add_raw(key, std::to_string(value));
    }
    JsonObject &add(std::string_view key, bool value) {
        return add_raw(key, value ? "true" : "false");
    }
    // Explicit const char * overload: otherwise a string literal would convert to bool.
    JsonObject &add(std::string_view key, const char *text) {
        return text ? add(key, std::string_view(text)) : add(key, nullptr);
    }
    JsonObject &add(std::string_view key, std::string_view text) {
        return add_raw(key, json_quote(text));
    }
    JsonObject &add(std::string_view key, const std::string &text) {
        return add(key, std::string_view(text));
    }
    JsonObject &add(std::string_view key, std::nullptr_t) { return add_raw(key, "null"); }
    // An absent value is written as null.
    template <std::integral T>
    JsonObject &add(std::string_view key, const std::optional<T> &value) {
        return value ? add(key, *value) : add(key, nullptr);
    }
    JsonObject &add(std::string_view key, const JsonArray &array) {
        return add_raw(key, array.str());
    }
    JsonObject &add(std::string_view key, const JsonObject &object) {
        return add_raw(key, object.str());
    }
    JsonObject &add_double(std::string_view key, double value) {
        char text[64];
        std::snprintf(text, sizeof(text), "%.3f", value);
        return add_raw(key, text);
    }
    JsonObject &add_raw(std::string_view key, std::string_view json) {
        if (!body_.empty())
            body_.push_back(',');
        body_ += json_quote(key);
        body_.push_back(':');
        body_ += json;
        return *this;
    }
    std::string str() const { return "{" + body_ + "}"; }

  private:
    std::string body_;
};

// Starts an event object: every output line has an "event" key first.
inline JsonObject json_event(std::string_view name) {
    JsonObject object;
    object.add("event", name);
    return object;
}

// Writes one line to stdout and flushes it, so a test reading the pipe sees it immediately.
inline void emit_line(const JsonObject &object) {
    std::string line = object.str();
    line.push_back('\n');
    std::fwrite(line.data(), 1, line.size(), stdout);
    std::fflush(stdout);
}

} // namespace vmcast_tools
