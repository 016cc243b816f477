#include "pipewire/cursor_meta.h"

#include <algorithm>
#include <cstring>

#include <spa/buffer/meta.h>
#include <spa/param/video/raw.h>

namespace vmcast::pipewire {

uint32_t cursor_meta_bytes() {
    return uint32_t(sizeof(spa_meta_cursor) + sizeof(spa_meta_bitmap) +
                    kMaxCursorMetaSize * kMaxCursorMetaSize * 4);
}

void CursorMeta::image_changed(const frame::Cursor &cursor) {
    // QEMU allows 512x512 cursors; consumers take at most 384x384, so larger ones are cropped.
    width_ = std::min(cursor.width, kMaxCursorMetaSize);
    height_ = std::min(cursor.height, kMaxCursorMetaSize);
    rgba_.resize(size_t(width_) * height_ * 4);
    for (uint32_t y = 0; y < height_; y++) {
        for (uint32_t x = 0; x < width_; x++) {
            uint32_t word;
            std::memcpy(&word, cursor.argb.data() + (size_t(y) * cursor.width + x) * 4, 4);
            const uint32_t alpha = word >> 24;
            const auto premultiply = [alpha](uint32_t channel) {
                return uint8_t((channel * alpha + 127) / 255);
            };
            uint8_t *out = &rgba_[(size_t(y) * width_ + x) * 4];
            out[0] = premultiply((word >> 16) & 0xff);
            out[1] = premultiply((word >> 8) & 0xff);
            out[2] = premultiply(word & 0xff);
            out[3] = uint8_t(alpha);
        }
    }
}

bool CursorMeta::write(const frame::Cursor &pointer, spa_buffer &buffer) const {
    auto *cursor = static_cast<spa_meta_cursor *>(
        spa_buffer_find_meta_data(&buffer, SPA_META_Cursor, sizeof(spa_meta_cursor)));
    if (!cursor)
        return false;
    spa_meta *meta = spa_buffer_find_meta(&buffer, SPA_META_Cursor);
    const bool has_image = pointer.visible && !rgba_.empty();
    const size_t needed =
        sizeof(spa_meta_cursor) + sizeof(spa_meta_bitmap) + (has_image ? rgba_.size() : 0);
    cursor->id = 1;
    cursor->flags = 0;
    // The pointer itself; consumers subtract the hot spot to place the bitmap.
    cursor->position = SPA_POINT(pointer.x, pointer.y);
    cursor->hotspot = SPA_POINT(pointer.hot_x, pointer.hot_y);
    if (meta->size < needed) {
        cursor->bitmap_offset = 0;
        return true;
    }
    // The bitmap goes with every buffer: any of them may be the first a consumer reads.
    cursor->bitmap_offset = sizeof(spa_meta_cursor);
    auto *bitmap = SPA_PTROFF(cursor, cursor->bitmap_offset, spa_meta_bitmap);
    bitmap->format = SPA_VIDEO_FORMAT_RGBA;
    if (!has_image) {
        // A hidden pointer: a valid bitmap of no pixels.
        bitmap->size = SPA_RECTANGLE(0, 0);
        bitmap->stride = 0;
        bitmap->offset = 0;
        return true;
    }
    bitmap->size = SPA_RECTANGLE(width_, height_);
    bitmap->stride = int32_t(width_ * 4);
    bitmap->offset = sizeof(spa_meta_bitmap);
    std::memcpy(SPA_PTROFF(bitmap, bitmap->offset, void), rgba_.data(), rgba_.size());
    return true;
}

} // namespace vmcast::pipewire
