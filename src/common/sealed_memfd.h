// A memfd of a fixed size, mapped for reading and writing, both released with the object.
// Sealed against shrinking and growing: every process that maps it can rely on its size.
#pragma once

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <memory>

#include "common/unique_fd.h"

namespace vmcast {

class SealedMemfd {
  public:
    // nullptr when the memfd cannot be made, sized or mapped.
    static std::unique_ptr<SealedMemfd> create(const char *name, size_t size) {
        UniqueFd fd(memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING));
        if (!fd.valid() || size == 0 || ftruncate(fd.get(), off_t(size)) < 0)
            return nullptr;
        fcntl(fd.get(), F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL);
        void *mapping = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd.get(), 0);
        if (mapping == MAP_FAILED)
            return nullptr;
        return std::unique_ptr<SealedMemfd>(new SealedMemfd(std::move(fd), mapping, size));
    }
    SealedMemfd(const SealedMemfd &) = delete;
    SealedMemfd &operator=(const SealedMemfd &) = delete;
    ~SealedMemfd() { munmap(mapping_, size_); }

    int fd() const { return fd_.get(); }
    uint8_t *data() const { return static_cast<uint8_t *>(mapping_); }
    size_t size() const { return size_; }

  private:
    SealedMemfd(UniqueFd fd, void *mapping, size_t size)
        : fd_(std::move(fd)), mapping_(mapping), size_(size) {}

    UniqueFd fd_;
    void *mapping_;
    size_t size_;
};

} // namespace vmcast
