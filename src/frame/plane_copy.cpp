#include "frame/plane_copy.h"

#include <string>

#include "frame/pixel_format.h"

namespace vmcast::frame {

Invalid copy_plane_to_surface(const PlaneView &plane, Rect rect, PixelSurface &surface,
                              PixelSurface::Change &change) {
    const PixelFormat *format = find_pixman_format(plane.pixman_format);
    if (!format)
        return "unsupported pixel format";
    if (rect.empty())
        rect = {0, 0, int32_t(plane.width), int32_t(plane.height)};
    if (clip_to_surface(rect, plane.width, plane.height) != rect)
        return "damage " + std::to_string(rect.x) + "," + std::to_string(rect.y) + " " +
               std::to_string(rect.width) + "x" + std::to_string(rect.height) + " is outside the " +
               std::to_string(plane.width) + "x" + std::to_string(plane.height) + " frame";
    change = {};
    if (surface.width() != plane.width || surface.height() != plane.height)
        surface.resize(plane.width, plane.height, change);
    // Row by row: the plane's last row may end right at the end of its memory, short of a
    // whole stride.
    const size_t row_bytes = size_t(rect.width) * format->bytes_per_pixel;
    for (int32_t row = 0; row < rect.height; row++) {
        const uint32_t y = uint32_t(rect.y + row);
        const uint32_t stored_row = plane.bottom_up ? plane.height - 1 - y : y;
        const uint8_t *source = plane.pixels + size_t(stored_row) * plane.stride +
                                size_t(rect.x) * format->bytes_per_pixel;
        PixelSurface::Change row_change;
        if (Invalid invalid =
                surface.apply_update(rect.x, int32_t(y), rect.width, 1, uint32_t(row_bytes),
                                     plane.pixman_format, {source, row_bytes}, row_change))
            return invalid;
        // A new pixel format at the same size also replaces the picture.
        change.resized = change.resized || row_change.resized;
    }
    change.damage = change.resized ? Rect{0, 0, int32_t(plane.width), int32_t(plane.height)}
                                   : bounding_box(change.damage, rect);
    return std::nullopt;
}

} // namespace vmcast::frame
