// The DMA-BUFs vmcast-frame-consumer reads: PipeWire's MAP_BUFFERS does not map DMA-BUFs
// (0.3.65), so the tool maps them itself to read LINEAR ones.
#pragma once

#include <linux/dma-buf.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include <cerrno>
#include <cstdint>
#include <memory>

#include <spa/buffer/buffer.h>

namespace vmcast_tools {

struct DmaBufMapping {
    void *address = MAP_FAILED;
    size_t length = 0;
    int fd = -1;

    DmaBufMapping() = default;
    DmaBufMapping(const DmaBufMapping &) = delete;
    DmaBufMapping &operator=(const DmaBufMapping &) = delete;
    ~DmaBufMapping() {
        if (address != MAP_FAILED)
            munmap(address, length);
    }

    // The plane mapped for reading; nullptr with errno set when it cannot be.
    static std::unique_ptr<DmaBufMapping> map(const spa_data &plane) {
        auto mapping = std::make_unique<DmaBufMapping>();
        mapping->fd = static_cast<int>(plane.fd);
        mapping->length = size_t{plane.mapoffset} + plane.maxsize;
        mapping->address = mmap(nullptr, mapping->length, PROT_READ, MAP_SHARED, mapping->fd, 0);
        if (mapping->address == MAP_FAILED)
            return nullptr;
        return mapping;
    }
};

inline void sync_dma_buf(int fd, uint64_t flags) {
    struct dma_buf_sync sync {};
    sync.flags = flags;
    // Best effort: not every exporter implements the ioctl, and reading still works without it.
    // Retry only interrupted calls, a bounded number of times.
    for (int attempt = 0; attempt < 16; ++attempt) {
        if (ioctl(fd, DMA_BUF_IOCTL_SYNC, &sync) == 0 || (errno != EINTR && errno != EAGAIN))
            return;
    }
}

} // namespace vmcast_tools
