// Small RAII helpers shared by the fake QEMU peer.
#pragma once

#include <gio/gio.h>
#include <glib.h>
#include <unistd.h>

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>

namespace fakeqemu {

template <typename T> struct GObjectDeleter {
    void operator()(T *p) const {
        if (p != nullptr)
            g_object_unref(p);
    }
};
// Owns one reference to a GObject.
template <typename T> using GObjPtr = std::unique_ptr<T, GObjectDeleter<T>>;

// Owns a file descriptor.
class UniqueFd {
  public:
    UniqueFd() = default;
    explicit UniqueFd(int fd) : fd_(fd) {}
    UniqueFd(const UniqueFd &) = delete;
    UniqueFd &operator=(const UniqueFd &) = delete;
    UniqueFd(UniqueFd &&o) noexcept : fd_(o.release()) {}
    UniqueFd &operator=(UniqueFd &&o) noexcept {
        if (this != &o)
            reset(o.release());
        return *this;
    }
    ~UniqueFd() { reset(); }

    int get() const { return fd_; }
    bool valid() const { return fd_ >= 0; }
    int release() { return std::exchange(fd_, -1); }
    void reset(int fd = -1) {
        if (fd_ >= 0)
            close(fd_);
        fd_ = fd;
    }

  private:
    int fd_ = -1;
};

// A command failed before anything was sent; name is a D-Bus style error name.
struct CommandError : std::runtime_error {
    CommandError(std::string error_name, const std::string &message)
        : std::runtime_error(message), name(std::move(error_name)) {}
    std::string name;
};

inline constexpr const char *kBadCommand = "fake-qemu.BadCommand";
inline constexpr const char *kNotSupported = "fake-qemu.NotSupported";
inline constexpr const char *kNoListener = "fake-qemu.NoListener";

inline int64_t now_us() {
    return g_get_monotonic_time();
}

} // namespace fakeqemu
