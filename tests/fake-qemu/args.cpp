#include "args.hpp"

#include "util.hpp"

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <sstream>

namespace fakeqemu {

Args Args::parse(const std::string &line, std::string &verb) {
    Args args;
    std::istringstream in(line);
    std::string word;
    verb.clear();
    while (in >> word) {
        if (verb.empty()) {
            verb = word;
            continue;
        }
        auto eq = word.find('=');
        if (eq == std::string::npos || eq == 0)
            throw CommandError(kBadCommand, "expected key=value, got '" + word + "'");
        args.values_[word.substr(0, eq)] = word.substr(eq + 1);
    }
    return args;
}

const std::string *Args::find(const std::string &key) const {
    used_.insert(key);
    auto it = values_.find(key);
    return it == values_.end() ? nullptr : &it->second;
}

std::string Args::str(const std::string &key, const std::string &def) const {
    const std::string *v = find(key);
    return v ? *v : def;
}

std::optional<std::string> Args::opt_str(const std::string &key) const {
    const std::string *v = find(key);
    if (!v)
        return std::nullopt;
    return *v;
}

uint64_t parse_u64(const std::string &key, const std::string &text) {
    if (text.empty() || text[0] == '-')
        throw CommandError(kBadCommand, key + ": not an unsigned number: '" + text + "'");
    errno = 0;
    char *end = nullptr;
    unsigned long long v = std::strtoull(text.c_str(), &end, 0);
    if (errno != 0 || end == text.c_str() || *end != '\0')
        throw CommandError(kBadCommand, key + ": not an unsigned number: '" + text + "'");
    return v;
}

int64_t parse_i64(const std::string &key, const std::string &text) {
    errno = 0;
    char *end = nullptr;
    long long v = std::strtoll(text.c_str(), &end, 0);
    if (text.empty() || errno != 0 || end == text.c_str() || *end != '\0')
        throw CommandError(kBadCommand, key + ": not a number: '" + text + "'");
    return v;
}

uint32_t Args::u32(const std::string &key, std::optional<uint32_t> def) const {
    const std::string *v = find(key);
    if (!v) {
        if (!def)
            throw CommandError(kBadCommand, "missing argument " + key + "=");
        return *def;
    }
    uint64_t n = parse_u64(key, *v);
    if (n > UINT32_MAX)
        throw CommandError(kBadCommand, key + ": out of range for u32");
    return static_cast<uint32_t>(n);
}

int32_t Args::i32(const std::string &key, std::optional<int32_t> def) const {
    const std::string *v = find(key);
    if (!v) {
        if (!def)
            throw CommandError(kBadCommand, "missing argument " + key + "=");
        return *def;
    }
    int64_t n = parse_i64(key, *v);
    if (n < INT32_MIN || n > INT32_MAX)
        throw CommandError(kBadCommand, key + ": out of range for i32");
    return static_cast<int32_t>(n);
}

uint64_t Args::u64(const std::string &key, std::optional<uint64_t> def) const {
    const std::string *v = find(key);
    if (!v) {
        if (!def)
            throw CommandError(kBadCommand, "missing argument " + key + "=");
        return *def;
    }
    return parse_u64(key, *v);
}

bool Args::flag(const std::string &key, bool def) const {
    const std::string *v = find(key);
    if (!v)
        return def;
    if (*v == "1" || *v == "true" || *v == "yes" || *v == "on")
        return true;
    if (*v == "0" || *v == "false" || *v == "no" || *v == "off")
        return false;
    throw CommandError(kBadCommand, key + ": expected 0 or 1");
}

std::vector<uint32_t> Args::u32_list(const std::string &key) const {
    std::vector<uint32_t> out;
    const std::string *v = find(key);
    if (!v)
        return out;
    std::istringstream in(*v);
    std::string item;
    while (std::getline(in, item, ',')) {
        uint64_t n = parse_u64(key, item);
        if (n > UINT32_MAX)
            throw CommandError(kBadCommand, key + ": out of range for u32");
        out.push_back(static_cast<uint32_t>(n));
    }
    return out;
}

void Args::check_all_used() const {
    for (const auto &[k, v] : values_) {
        if (used_.count(k) == 0)
            throw CommandError(kBadCommand, "unknown argument " + k + "=");
    }
}

} // namespace fakeqemu
