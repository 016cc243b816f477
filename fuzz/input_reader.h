// Reads a fuzz input front to back as the choices that build a structured value (a SPA pod, a
// Wayland request), so seed inputs can be written by hand (little-endian, in order). Past the
// end every read gives zeros.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>

namespace vmcast_fuzz {

class InputReader {
  public:
    InputReader(const uint8_t *data, size_t size) : rest_(data, size) {}

    bool empty() const { return rest_.empty(); }
    uint8_t byte() { return read<uint8_t>(); }
    uint16_t u16() { return read<uint16_t>(); }
    uint32_t u32() { return read<uint32_t>(); }
    uint64_t u64() { return read<uint64_t>(); }
    // One of values, by the next byte.
    template <typename T, size_t N> T pick(const T (&values)[N]) { return values[byte() % N]; }
    // Up to n bytes: fewer when the input ends.
    std::span<const uint8_t> bytes(size_t n) {
        const std::span<const uint8_t> taken = rest_.first(std::min(n, rest_.size()));
        rest_ = rest_.subspan(taken.size());
        return taken;
    }

  private:
    template <typename T> T read() {
        T value = 0;
        const std::span<const uint8_t> taken = bytes(sizeof(T));
        memcpy(&value, taken.data(), taken.size());
        return value;
    }

    std::span<const uint8_t> rest_;
};

} // namespace vmcast_fuzz
