// The DMA-BUF paths of ConsoleListener (QEMU with gl=on): through the GPU when the compositor
// can import the buffer, else read on the CPU, else a placeholder.
#include "qemu/console_listener.h"

#include "common/unique_fd.h"
#include "frame/placeholder.h"
#include "qemu-display1.h"

namespace vmcast::qemu {

bool ConsoleListener::show_dmabuf(GDBusMethodInvocation *invocation, const char *method,
                                  std::vector<frame::DmabufPlane> planes,
                                  const frame::DmabufLayout &layout) {
    if (frame::Invalid invalid = frame::check_dmabuf(planes, layout)) {
        reject(invocation, method, *invalid);
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
        reject(invocation, method, error);
        return false;
    }
    if (frame::Invalid invalid = dmabuf->copy_to(*surface_, {}, change)) {
        reject(invocation, method, *invalid);
        return false;
    }
    show(DmabufReadOnCpu{std::move(dmabuf)});
    warned_about_tiling_ = false;
    sink_.frame_changed(surface_, change);
    return true;
}

gboolean ConsoleListener::on_scanout_dmabuf(QemuDisplayListener *skeleton,
                                            GDBusMethodInvocation *invocation, GUnixFDList *fds,
                                            GVariant *handle, guint width, guint height,
                                            guint stride, guint fourcc, guint64 modifier,
                                            gboolean y0_top, gpointer self) {
    auto *listener = static_cast<ConsoleListener *>(self);
    g_debug("%s: ScanoutDMABUF %ux%u stride %u fourcc 0x%08x modifier 0x%llx",
            listener->log_name_.c_str(), width, height, stride, fourcc,
            static_cast<unsigned long long>(modifier));
    GError *raw_error = nullptr;
    UniqueFd fd(fds ? g_unix_fd_list_get(fds, g_variant_get_handle(handle), &raw_error) : -1);
    GErrorPtr fd_error(raw_error);
    if (!fd.valid()) {
        listener->reject(invocation, "ScanoutDMABUF", "no DMA-BUF file descriptor in the message");
        return TRUE;
    }
    // Up to QEMU 8.0 width and height are the buffer's, from 8.1 the visible part's, which
    // then starts at the buffer's origin (8.1 dropped x and y): both show the same pixels.
    std::vector<frame::DmabufPlane> planes;
    planes.push_back({std::move(fd), 0, stride});
    const frame::DmabufLayout layout{
        fourcc, modifier, width, height, {0, 0, int32_t(width), int32_t(height)}, y0_top != 0};
    if (listener->show_dmabuf(invocation, "ScanoutDMABUF", std::move(planes), layout))
        qemu_display_listener_complete_scanout_dmabuf(skeleton, invocation, nullptr);
    return TRUE;
}

gboolean ConsoleListener::on_scanout_dmabuf2(QemuDisplayListenerUnixScanoutDMABUF2 *skeleton,
                                             GDBusMethodInvocation *invocation, GUnixFDList *fds,
                                             GVariant *handles, guint x, guint y, guint width,
                                             guint height, GVariant *offsets, GVariant *strides,
                                             guint plane_count, guint fourcc, guint backing_width,
                                             guint backing_height, guint64 modifier,
                                             gboolean y0_top, gpointer self) {
    auto *listener = static_cast<ConsoleListener *>(self);
    g_debug("%s: ScanoutDMABUF2 %ux%u+%u+%u of %ux%u, %u planes, fourcc 0x%08x",
            listener->log_name_.c_str(), width, height, x, y, backing_width, backing_height,
            plane_count, fourcc);
    if (plane_count == 0 || plane_count > frame::kMaxPlanes ||
        g_variant_n_children(handles) != plane_count ||
        g_variant_n_children(offsets) != plane_count ||
        g_variant_n_children(strides) != plane_count) {
        listener->reject(invocation, "ScanoutDMABUF2",
                         "plane count " + std::to_string(plane_count) +
                             " is not between 1 and 4 or does not match the fd, offset and "
                             "stride arrays");
        return TRUE;
    }
    std::vector<frame::DmabufPlane> planes;
    for (guint i = 0; i < plane_count; i++) {
        gint32 handle = 0;
        guint32 offset = 0, stride = 0;
        g_variant_get_child(handles, i, "h", &handle);
        g_variant_get_child(offsets, i, "u", &offset);
        g_variant_get_child(strides, i, "u", &stride);
        GError *raw_error = nullptr;
        UniqueFd fd(fds ? g_unix_fd_list_get(fds, handle, &raw_error) : -1);
        GErrorPtr fd_error(raw_error);
        if (!fd.valid()) {
            listener->reject(invocation, "ScanoutDMABUF2",
                             "no file descriptor for DMA-BUF plane " + std::to_string(i));
            return TRUE;
        }
        planes.push_back({std::move(fd), offset, stride});
    }
    if (x > frame::kMaxSurfaceDimension || y > frame::kMaxSurfaceDimension ||
        width > frame::kMaxSurfaceDimension || height > frame::kMaxSurfaceDimension) {
        listener->reject(invocation, "ScanoutDMABUF2", "visible part out of range");
        return TRUE;
    }
    const frame::DmabufLayout layout{fourcc,
                                     modifier,
                                     backing_width,
                                     backing_height,
                                     {int32_t(x), int32_t(y), int32_t(width), int32_t(height)},
                                     y0_top != 0};
    if (listener->show_dmabuf(invocation, "ScanoutDMABUF2", std::move(planes), layout))
        qemu_display_listener_unix_scanout_dmabuf2_complete_scanout_dmabuf2(skeleton, invocation,
                                                                            nullptr);
    return TRUE;
}

gboolean ConsoleListener::on_update_dmabuf(QemuDisplayListener *skeleton,
                                           GDBusMethodInvocation *invocation, gint x, gint y,
                                           gint width, gint height, gpointer self) {
    auto *listener = static_cast<ConsoleListener *>(self);
    if (std::holds_alternative<TiledPlaceholder>(listener->source_)) {
        // Nothing to read, but QEMU holds the guest's GL work until it hears back.
        qemu_display_listener_complete_update_dmabuf(skeleton, invocation);
        return TRUE;
    }
    if (const auto *gpu = std::get_if<DmabufOnGpu>(&listener->source_)) {
        const frame::Rect rect{x, y, width, height};
        const frame::Rect &visible = gpu->visible;
        if (rect.empty() || frame::clip_to_surface(rect, uint32_t(visible.width),
                                                   uint32_t(visible.height)) != rect) {
            listener->reject(invocation, "UpdateDMABUF", "damage outside the DMA-BUF");
            return TRUE;
        }
        listener->sink_.dmabuf_damaged(rect);
        listener->answer_after_render(invocation);
        return TRUE;
    }
    const auto *cpu = std::get_if<DmabufReadOnCpu>(&listener->source_);
    if (!cpu) {
        listener->reject(invocation, "UpdateDMABUF", "UpdateDMABUF before any ScanoutDMABUF");
        return TRUE;
    }
    frame::PixelSurface::Change change;
    if (frame::Invalid invalid =
            cpu->dmabuf->copy_to(*listener->surface_, {x, y, width, height}, change)) {
        listener->reject(invocation, "UpdateDMABUF", *invalid);
        return TRUE;
    }
    listener->sink_.frame_changed(listener->surface_, change);
    listener->answer_after_render(invocation);
    return TRUE;
}

} // namespace vmcast::qemu
