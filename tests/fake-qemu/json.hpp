// A tiny JSON object writer: the fake peer prints one object per line on stdout.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace fakeqemu {

class Json {
  public:
    Json &add(std::string_view key, std::string_view value);
    Json &add(std::string_view key, const char *value);
    Json &add(std::string_view key, const std::string &value) {
        return add(key, std::string_view(value));
    }
    Json &add(std::string_view key, bool value);
    Json &add(std::string_view key, int64_t value);
    Json &add(std::string_view key, uint64_t value);
    Json &add(std::string_view key, int value) { return add(key, static_cast<int64_t>(value)); }
    Json &add(std::string_view key, unsigned value) {
        return add(key, static_cast<uint64_t>(value));
    }
    Json &add(std::string_view key, double value);
    Json &add_null(std::string_view key);
    Json &add(std::string_view key, const std::vector<std::string> &values);
    // value must already be valid JSON.
    Json &add_raw(std::string_view key, std::string_view json);
    // Appends every member of another object.
    Json &merge(const Json &other);

    std::string str() const { return "{" + body_ + "}"; }
    bool empty() const { return body_.empty(); }

    static std::string quote(std::string_view s);

  private:
    void key(std::string_view k);
    std::string body_;
};

// Prints one JSON line on stdout and flushes it.
void emit(const Json &obj);

} // namespace fakeqemu
