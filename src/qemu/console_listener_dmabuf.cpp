// The DMA-BUF paths of ConsoleListener (QEMU with gl=on): through the GPU when the compositor
// can import the buffer, else read on the CPU, else a placeholder.
#include "qemu/console_listener.h"

#include "common/unique_fd.h"
#include "frame/placeholder.h"

namespace vmcast::qemu {

bool ConsoleListener::show_dmabuf(ListenerCall &call, const char *method,
                                  std::vector<frame::DmabufPlane> planes,
                                  const frame::DmabufLayout &layout) {
    if (frame::Invalid invalid = frame::check_dmabuf(planes, layout)) {
        reject(call, method, *invalid);
        return false;
    }
    // The old source goes whatever happens: the updates that follow are this buffer's.
    show(CopiedPixels{});
    if (sink_.show_dmabuf_on_gpu(planes, layout)) {
        show(DmabufOnGpu{{0, 0, layout.visible.width, layout.visible.height}});
        warned_about_tiling_ = false;
        return true;
    }
    frame::PixelSurface::Change change;
    if (!frame::cpu_can_read_modifier(layout.modifier)) {
        if (!warned_about_tiling_)
            g_warning("%s: QEMU sends tiled DMA-BUFs (modifier 0x%llx) that this renderer "
                      "cannot import; showing a placeholder. Give vmcast a GPU render node, or "
                      "run QEMU with gl=off.",
                      log_name_.c_str(), static_cast<unsigned long long>(layout.modifier));
        warned_about_tiling_ = true;
        show(TiledPlaceholder{});
        frame::show_placeholder(*surface_, uint32_t(layout.visible.width),
                                uint32_t(layout.visible.height), change);
        sink_.frame_changed(surface_, change);
        return true;
    }
    std::string error;
    auto dmabuf = frame::DmabufFrame::map(std::move(planes), layout, error);
    if (!dmabuf) {
        reject(call, method, error);
        return false;
    }
    if (frame::Invalid invalid = dmabuf->copy_to(*surface_, {}, change)) {
        reject(call, method, *invalid);
        return false;
    }
    show(DmabufReadOnCpu{std::move(dmabuf)});
    warned_about_tiling_ = false;
    sink_.frame_changed(surface_, change);
    return true;
}

void ConsoleListener::scanout_dmabuf(ListenerCall call, UniqueFd fd, uint32_t width,
                                     uint32_t height, uint32_t stride, uint32_t fourcc,
                                     uint64_t modifier, bool y0_top) {
    g_debug("%s: ScanoutDMABUF %ux%u stride %u fourcc 0x%08x modifier 0x%llx", log_name_.c_str(),
            width, height, stride, fourcc, static_cast<unsigned long long>(modifier));
    if (!fd.valid()) {
        reject(call, "ScanoutDMABUF", "no DMA-BUF file descriptor in the message");
        return;
    }
    // Up to QEMU 8.0 width and height are the buffer's, from 8.1 the visible part's, which
    // then starts at the buffer's origin (8.1 dropped x and y): both show the same pixels.
    std::vector<frame::DmabufPlane> planes;
    planes.push_back({std::move(fd), 0, stride});
    const frame::DmabufLayout layout{
        fourcc, modifier, width, height, {0, 0, int32_t(width), int32_t(height)}, y0_top};
    if (show_dmabuf(call, "ScanoutDMABUF", std::move(planes), layout))
        call.succeed();
}

void ConsoleListener::scanout_dmabuf2(ListenerCall call, Dmabuf2 buffer) {
    const uint32_t plane_count = buffer.plane_count;
    g_debug("%s: ScanoutDMABUF2 %ux%u+%u+%u of %ux%u, %u planes, fourcc 0x%08x", log_name_.c_str(),
            buffer.width, buffer.height, buffer.x, buffer.y, buffer.backing_width,
            buffer.backing_height, plane_count, buffer.fourcc);
    if (plane_count == 0 || plane_count > frame::kMaxPlanes || buffer.fds.size() != plane_count ||
        buffer.offsets.size() != plane_count || buffer.strides.size() != plane_count) {
        reject(call, "ScanoutDMABUF2",
               "plane count " + std::to_string(plane_count) +
                   " is not between 1 and 4 or does not match the fd, offset and stride arrays");
        return;
    }
    std::vector<frame::DmabufPlane> planes;
    for (uint32_t i = 0; i < plane_count; i++) {
        if (!buffer.fds[i].valid()) {
            reject(call, "ScanoutDMABUF2",
                   "no file descriptor for DMA-BUF plane " + std::to_string(i));
            return;
        }
        planes.push_back({std::move(buffer.fds[i]), buffer.offsets[i], buffer.strides[i]});
    }
    if (buffer.x > frame::kMaxSurfaceDimension || buffer.y > frame::kMaxSurfaceDimension ||
        buffer.width > frame::kMaxSurfaceDimension || buffer.height > frame::kMaxSurfaceDimension) {
        reject(call, "ScanoutDMABUF2", "visible part out of range");
        return;
    }
    const frame::DmabufLayout layout{
        buffer.fourcc,
        buffer.modifier,
        buffer.backing_width,
        buffer.backing_height,
        {int32_t(buffer.x), int32_t(buffer.y), int32_t(buffer.width), int32_t(buffer.height)},
        buffer.y0_top};
    if (show_dmabuf(call, "ScanoutDMABUF2", std::move(planes), layout))
        call.succeed();
}

void ConsoleListener::update_dmabuf(ListenerCall call, int32_t x, int32_t y, int32_t width,
                                    int32_t height) {
    if (std::holds_alternative<TiledPlaceholder>(source_)) {
        // Nothing to read, but QEMU holds the guest's GL work until it hears back.
        call.succeed();
        return;
    }
    if (const auto *gpu = std::get_if<DmabufOnGpu>(&source_)) {
        const frame::Rect rect{x, y, width, height};
        const frame::Rect &visible = gpu->visible;
        if (rect.empty() || frame::clip_to_surface(rect, uint32_t(visible.width),
                                                   uint32_t(visible.height)) != rect) {
            reject(call, "UpdateDMABUF", "damage outside the DMA-BUF");
            return;
        }
        sink_.dmabuf_damaged(rect);
        answer_after_render(std::move(call));
        return;
    }
    const auto *cpu = std::get_if<DmabufReadOnCpu>(&source_);
    if (!cpu) {
        reject(call, "UpdateDMABUF", "UpdateDMABUF before any ScanoutDMABUF");
        return;
    }
    frame::PixelSurface::Change change;
    if (frame::Invalid invalid = cpu->dmabuf->copy_to(*surface_, {x, y, width, height}, change)) {
        reject(call, "UpdateDMABUF", *invalid);
        return;
    }
    sink_.frame_changed(surface_, change);
    answer_after_render(std::move(call));
}

} // namespace vmcast::qemu
