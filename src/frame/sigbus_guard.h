// Reading a file mapping that its owner shrank raises SIGBUS. QEMU's shared surfaces are
// unsealed memfds, so vmcast cannot rule that out; instead, a fault inside a guarded mapping
// replaces the mapping with zero pages (as libwayland does for wl_shm pools), reading goes on,
// and the owner of the guard learns that the mapping lost its backing.
#pragma once

#include <cstddef>

namespace vmcast::frame {

class SigbusGuard {
  public:
    // Mappings guarded at once, in the whole process: a few per console.
    static constexpr int kMaxGuards = 1024;
    static constexpr const char *kNoGuardLeft =
        "too many shared mappings at once: vmcast guards 1024 against being shrunk";

    // Guards [address, address + length), a whole mapping made with mmap. Inactive when
    // kMaxGuards are taken: reads are not protected then, so the owner must not read.
    SigbusGuard(void *address, size_t length);
    SigbusGuard(const SigbusGuard &) = delete;
    SigbusGuard &operator=(const SigbusGuard &) = delete;
    ~SigbusGuard();

    bool active() const { return slot_ >= 0; }
    // True once a fault replaced the mapping with zero pages.
    bool faulted() const;

  private:
    int slot_ = -1;
};

} // namespace vmcast::frame
