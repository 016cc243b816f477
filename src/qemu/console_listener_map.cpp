// The shared memory path of ConsoleListener (Listener.Unix.Map, QEMU 9.2+).
#include "qemu/console_listener.h"

#include "common/unique_fd.h"

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

void ConsoleListener::scanout_map(ListenerCall call, UniqueFd fd, uint32_t offset, uint32_t width,
                                  uint32_t height, uint32_t stride, uint32_t format) {
    // QEMU waits for this answer (1 s at most) and gives up on the map path if it fails.
    g_debug("%s: ScanoutMap %ux%u stride %u offset %u format 0x%08x", log_name_.c_str(), width,
            height, stride, offset, format);
    if (!fd.valid()) {
        reject(call, "ScanoutMap", "no shared memory file descriptor");
        return;
    }
    std::string error;
    auto map = frame::MappedFrame::map(std::move(fd), offset, width, height, stride, format, error);
    if (!map) {
        reject(call, "ScanoutMap", error);
        return;
    }
    std::shared_ptr<frame::MappedFrame> shown = std::move(map);
    show(SharedMemory{shown});
    call.succeed();
    show_map(shown, {0, 0, int32_t(width), int32_t(height)}, true);
}

void ConsoleListener::update_map(ListenerCall call, int32_t x, int32_t y, int32_t width,
                                 int32_t height) {
    const auto *shared = std::get_if<SharedMemory>(&source_);
    if (!shared) {
        reject(call, "UpdateMap", "UpdateMap before any ScanoutMap");
        return;
    }
    const std::shared_ptr<frame::MappedFrame> shown = shared->map;
    const frame::Rect rect{x, y, width, height};
    const frame::MappedFrame &map = *shown;
    if (rect.empty() || frame::clip_to_surface(rect, map.width(), map.height()) != rect) {
        reject(call, "UpdateMap",
               "damage " + std::to_string(x) + "," + std::to_string(y) + " " +
                   std::to_string(width) + "x" + std::to_string(height) + " is outside the " +
                   std::to_string(map.width()) + "x" + std::to_string(map.height()) +
                   " shared memory frame");
        return;
    }
    std::string error;
    if (!shown->still_backed(error)) {
        // Keep what can still be read; what QEMU took away shows black.
        reject(call, "UpdateMap", error);
        keep_shared_memory_picture();
        frame::PixelSurface::Change change{
            {0, 0, int32_t(surface_->width()), int32_t(surface_->height())}, true};
        sink_.frame_changed(surface_, change);
        return;
    }
    call.succeed();
    show_map(shown, rect, false);
}

} // namespace vmcast::qemu
