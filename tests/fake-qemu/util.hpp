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

#include "common/unique_fd.h"

namespace fakeqemu {

template <typename T> struct GObjectDeleter {
    void operator()(T *p) const {
        if (p != nullptr)
            g_object_unref(p);
    }
};
// Owns one reference to a GObject.
template <typename T> using GObjPtr = std::unique_ptr<T, GObjectDeleter<T>>;

// The project's owning fd type.
using vmcast::UniqueFd;

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
