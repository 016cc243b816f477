// Parsing of stdin command lines: "verb key=value key=value ...".
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace fakeqemu {

class Args {
  public:
    // Splits a line into the verb and key=value pairs; throws CommandError on bad syntax.
    static Args parse(const std::string &line, std::string &verb);

    bool has(const std::string &key) const { return values_.count(key) != 0; }
    std::string str(const std::string &key, const std::string &def = {}) const;
    std::optional<std::string> opt_str(const std::string &key) const;
    uint32_t u32(const std::string &key, std::optional<uint32_t> def = std::nullopt) const;
    int32_t i32(const std::string &key, std::optional<int32_t> def = std::nullopt) const;
    uint64_t u64(const std::string &key, std::optional<uint64_t> def = std::nullopt) const;
    bool flag(const std::string &key, bool def = false) const;
    std::vector<uint32_t> u32_list(const std::string &key) const;
    // Marks a key as understood without reading it.
    void accept(const std::string &key) const { used_.insert(key); }
    // Throws CommandError naming the first key no handler read.
    void check_all_used() const;

  private:
    const std::string *find(const std::string &key) const;
    std::map<std::string, std::string> values_;
    mutable std::set<std::string> used_;
};

// Parses an unsigned number (decimal or 0x hex); throws CommandError on junk.
uint64_t parse_u64(const std::string &key, const std::string &text);
int64_t parse_i64(const std::string &key, const std::string &text);

} // namespace fakeqemu
