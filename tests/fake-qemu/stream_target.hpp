// The consoles a stream command drives: the 32-bit surface it writes into (the 2D surface
// kept by the peer, or the map memfd mapped once) and the damage region of each tick.
#pragma once

#include "app.hpp"
#include "stream_canvas.hpp"

#include <sys/mman.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <utility>

namespace fakeqemu {

// The map memfd, mapped once for the whole stream (writes go straight into shared pages).
class Mapping {
  public:
    Mapping() = default;
    Mapping(int fd, uint64_t len) : len_(len) {
        void *p = mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        if (p == MAP_FAILED)
            throw CommandError("fake-qemu.Failed", std::string("mmap: ") + strerror(errno));
        ptr_ = static_cast<uint8_t *>(p);
    }
    Mapping(Mapping &&o) noexcept
        : ptr_(std::exchange(o.ptr_, nullptr)), len_(std::exchange(o.len_, 0)) {}
    Mapping &operator=(Mapping &&o) noexcept {
        std::swap(ptr_, o.ptr_);
        std::swap(len_, o.len_);
        return *this;
    }
    ~Mapping() {
        if (ptr_ != nullptr)
            munmap(ptr_, len_);
    }
    uint8_t *data() const { return ptr_; }

  private:
    uint8_t *ptr_ = nullptr;
    uint64_t len_ = 0;
};

// One console the stream drives.
struct Target {
    Console *con = nullptr;
    Canvas canvas;
    Rect region;
    uint32_t format = 0;
    bool via_map = false; // path=map: UpdateMap to listeners whose map is current
    Mapping mapping;
};

// Checks that the console's current surface or map can be streamed and describes it;
// throws CommandError otherwise. path is "update", "map" or empty (the current kind).
Target make_target(Console &con, const std::string &path, RegionKind region);

} // namespace fakeqemu
