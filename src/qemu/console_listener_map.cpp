// The shared memory path of ConsoleListener (Listener.Unix.Map, QEMU 9.2+).
#include "qemu/console_listener.h"

#include "common/unique_fd.h"
#include "qemu-display1.h"

namespace vmcast::qemu {

void ConsoleListener::keep_shared_memory_picture() {
    const auto *shared = std::get_if<SharedMemory>(&source_);
    if (!shared)
        return;
    frame::PixelSurface::Change change;
    if (frame::Invalid invalid = shared->map->copy_to(*surface_, {}, change))
        g_warning("%s: cannot keep the shared memory picture: %s", log_name_.c_str(),
                  invalid->c_str());
    show(CopiedPixels{});
}

void ConsoleListener::show_map(const std::shared_ptr<frame::MappedFrame> &map,
                               const frame::Rect &rect, bool resized) {
    frame::PixelSurface::Change change{rect, resized};
    if (map->drm_format() != 0) {
        sink_.frame_changed(map, change);
        return;
    }
    if (frame::Invalid invalid = map->copy_to(*surface_, resized ? frame::Rect{} : rect, change)) {
        g_warning("%s: cannot convert the shared memory picture: %s", log_name_.c_str(),
                  invalid->c_str());
        return;
    }
    sink_.frame_changed(surface_, change);
}

gboolean ConsoleListener::on_scanout_map(QemuDisplayListenerUnixMap *skeleton,
                                         GDBusMethodInvocation *invocation, GUnixFDList *fds,
                                         GVariant *handle, guint offset, guint width, guint height,
                                         guint stride, guint format, gpointer self) {
    // QEMU waits for this answer (1 s at most) and gives up on the map path if it fails.
    auto *listener = static_cast<ConsoleListener *>(self);
    g_debug("%s: ScanoutMap %ux%u stride %u offset %u format 0x%08x", listener->log_name_.c_str(),
            width, height, stride, offset, format);
    GError *raw_error = nullptr;
    UniqueFd fd(fds ? g_unix_fd_list_get(fds, g_variant_get_handle(handle), &raw_error) : -1);
    GErrorPtr fd_error(raw_error);
    if (!fd.valid()) {
        listener->reject(invocation, "ScanoutMap", "no shared memory file descriptor");
        return TRUE;
    }
    std::string error;
    auto map = frame::MappedFrame::map(std::move(fd), offset, width, height, stride, format, error);
    if (!map) {
        listener->reject(invocation, "ScanoutMap", error);
        return TRUE;
    }
    std::shared_ptr<frame::MappedFrame> shown = std::move(map);
    listener->show(SharedMemory{shown});
    qemu_display_listener_unix_map_complete_scanout_map(skeleton, invocation, nullptr);
    listener->show_map(shown, {0, 0, int32_t(width), int32_t(height)}, true);
    return TRUE;
}

gboolean ConsoleListener::on_update_map(QemuDisplayListenerUnixMap *skeleton,
                                        GDBusMethodInvocation *invocation, gint x, gint y,
                                        gint width, gint height, gpointer self) {
    auto *listener = static_cast<ConsoleListener *>(self);
    const auto *shared = std::get_if<SharedMemory>(&listener->source_);
    if (!shared) {
        listener->reject(invocation, "UpdateMap", "UpdateMap before any ScanoutMap");
        return TRUE;
    }
    const std::shared_ptr<frame::MappedFrame> shown = shared->map;
    const frame::Rect rect{x, y, width, height};
    const frame::MappedFrame &map = *shown;
    if (rect.empty() || frame::clip_to_surface(rect, map.width(), map.height()) != rect) {
        listener->reject(invocation, "UpdateMap",
                         "damage " + std::to_string(x) + "," + std::to_string(y) + " " +
                             std::to_string(width) + "x" + std::to_string(height) +
                             " is outside the " + std::to_string(map.width()) + "x" +
                             std::to_string(map.height()) + " shared memory frame");
        return TRUE;
    }
    std::string error;
    if (!shown->still_backed(error)) {
        // Keep what can still be read; what QEMU took away shows black.
        listener->reject(invocation, "UpdateMap", error);
        listener->keep_shared_memory_picture();
        frame::PixelSurface::Change change{
            {0, 0, int32_t(listener->surface_->width()), int32_t(listener->surface_->height())},
            true};
        listener->sink_.frame_changed(listener->surface_, change);
        return TRUE;
    }
    qemu_display_listener_unix_map_complete_update_map(skeleton, invocation);
    listener->show_map(shown, rect, false);
    return TRUE;
}

} // namespace vmcast::qemu
