// QEMU's DMA-BUFs on the GPU: each becomes a wlr_buffer that offers its DMA-BUF attributes, so
// wlroots' GLES2 renderer imports it through EGL (EGL_EXT_image_dma_buf_import, with the
// modifier when it is not INVALID) and samples it in place. Imports are kept per DMA-BUF, as
// QEMU cycles through a few buffers.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <vector>

#include "frame/dmabuf_frame.h"

struct wlr_buffer;
struct wlr_dmabuf_attributes;
struct wlr_renderer;

namespace vmcast::compositor {

// The attributes wlroots asks for, with duplicated fds the caller owns
// (wlr_dmabuf_attributes_finish closes them). False when an fd cannot be duplicated.
bool fill_dmabuf_attributes(const std::vector<frame::DmabufPlane> &planes,
                            const frame::DmabufLayout &layout, wlr_dmabuf_attributes &attributes);

class DmabufImports {
  public:
    explicit DmabufImports(wlr_renderer *renderer) : renderer_(renderer) {}
    DmabufImports(const DmabufImports &) = delete;
    DmabufImports &operator=(const DmabufImports &) = delete;
    ~DmabufImports();

    // The imported buffer for this DMA-BUF (cached), or nullptr when the renderer cannot
    // import it (no EGL import, or a format/modifier pair the GPU does not take).
    wlr_buffer *import(const std::vector<frame::DmabufPlane> &planes,
                       const frame::DmabufLayout &layout);

  private:
    struct Identity {
        std::vector<ino_t> inodes;
        std::vector<dev_t> devices;
        std::vector<uint32_t> offsets;
        std::vector<uint32_t> strides;
        uint32_t fourcc = 0;
        uint64_t modifier = 0;
        uint32_t width = 0;
        uint32_t height = 0;
        bool operator==(const Identity &) const = default;
    };
    struct Entry {
        Identity identity;
        wlr_buffer *buffer;
    };
    static constexpr size_t kMaxCachedImports = 4;

    wlr_renderer *renderer_;
    std::vector<Entry> entries_; // most recently used last
};

} // namespace vmcast::compositor
