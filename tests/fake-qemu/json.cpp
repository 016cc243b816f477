#include "json.hpp"

#include <cinttypes>
#include <cmath>
#include <cstdio>

namespace fakeqemu {

std::string Json::quote(std::string_view s) {
    std::string out = "\"";
    for (unsigned char c : s) {
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
            if (c < 0x20) {
                char buf[8];
                std::snprintf(buf, sizeof buf, "\\u%04x", c);
                out += buf;
            } else {
                out += static_cast<char>(c);
            }
        }
    }
    out += '"';
    return out;
}

void Json::key(std::string_view k) {
    if (!body_.empty())
        body_ += ',';
    body_ += quote(k);
    body_ += ':';
}

Json &Json::add(std::string_view k, std::string_view value) {
    key(k);
    body_ += quote(value);
    return *this;
}

Json &Json::add(std::string_view k, const char *value) {
    if (value == nullptr)
        return add_null(k);
    return add(k, std::string_view(value));
}

Json &Json::add(std::string_view k, bool value) {
    key(k);
    body_ += value ? "true" : "false";
    return *this;
}

Json &Json::add(std::string_view k, int64_t value) {
    key(k);
    body_ += std::to_string(value);
    return *this;
}

Json &Json::add(std::string_view k, uint64_t value) {
    key(k);
    body_ += std::to_string(value);
    return *this;
}

Json &Json::add(std::string_view k, double value) {
    key(k);
    if (!std::isfinite(value)) {
        body_ += "null";
        return *this;
    }
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.17g", value);
    body_ += buf;
    return *this;
}

Json &Json::add_null(std::string_view k) {
    key(k);
    body_ += "null";
    return *this;
}

Json &Json::add(std::string_view k, const std::vector<std::string> &values) {
    key(k);
    body_ += '[';
    for (size_t i = 0; i < values.size(); i++) {
        if (i > 0)
            body_ += ',';
        body_ += quote(values[i]);
    }
    body_ += ']';
    return *this;
}

Json &Json::add_raw(std::string_view k, std::string_view json) {
    key(k);
    body_ += json;
    return *this;
}

Json &Json::merge(const Json &other) {
    if (other.body_.empty())
        return *this;
    if (!body_.empty())
        body_ += ',';
    body_ += other.body_;
    return *this;
}

void emit(const Json &obj) {
    std::string line = obj.str();
    line += '\n';
    std::fwrite(line.data(), 1, line.size(), stdout);
    std::fflush(stdout);
}

} // namespace fakeqemu
