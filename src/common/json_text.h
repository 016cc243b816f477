// Text that holds one JSON value and nothing after it, checked before json-glib parses it:
// json-glib 1.6 (Debian 12) keeps about 700 bytes, reachable and never freed, each time it
// parses a text with a second value after the first (`{"a":1}{"b":2}`, `"x""x"`; found by
// fuzzing QMP replies, and the page's messages go the same way), so a peer repeating one could
// grow vmcast without end. The check only finds where the first value ends; json-glib still
// judges whether it is valid.
#pragma once

#include <string_view>

namespace vmcast {

inline bool is_one_json_value(std::string_view text) {
    const auto space = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
    const auto structural = [](char c) {
        return c == '{' || c == '}' || c == '[' || c == ']' || c == ',' || c == ':' || c == '"';
    };
    size_t at = 0;
    while (at < text.size() && space(text[at]))
        ++at;
    // Where the first value ends: past its closing quote or bracket, or at what ends a number
    // or literal.
    size_t end = text.size();
    size_t depth = 0;
    bool in_string = false, escaped = false;
    for (; at < text.size(); ++at) {
        const char c = text[at];
        if (in_string) {
            if (escaped)
                escaped = false;
            else if (c == '\\')
                escaped = true;
            else if (c == '"')
                in_string = false;
            if (!in_string && depth == 0) {
                end = at + 1;
                break;
            }
        } else if (c == '"') {
            in_string = true;
        } else if (c == '{' || c == '[') {
            ++depth;
        } else if ((c == '}' || c == ']') && depth > 0) {
            if (--depth == 0) {
                end = at + 1;
                break;
            }
        } else if (depth == 0 && (space(c) || structural(c))) {
            end = at;
            break;
        }
    }
    for (at = end; at < text.size(); ++at)
        if (!space(text[at]))
            return false;
    return true;
}

} // namespace vmcast
