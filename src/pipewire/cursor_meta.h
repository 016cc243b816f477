// QEMU's cursor as PipeWire SPA_META_Cursor metadata, for consumers that draw the pointer
// themselves (OBS, browsers through the portal, remote desktops): position, hot spot and an
// RGBA bitmap of at most kMaxCursorMetaSize pixels a side.
#pragma once

#include <cstdint>
#include <vector>

#include <spa/buffer/buffer.h>

#include "frame/cursor.h"

namespace vmcast::pipewire {

// Every consumer listed in the reference notes takes a cursor bitmap of this size.
inline constexpr uint32_t kMaxCursorMetaSize = 384;

// Bytes of SPA_META_Cursor for a kMaxCursorMetaSize bitmap.
uint32_t cursor_meta_bytes();

enum class CursorMode {
    Auto,     // metadata for consumers that ask for it, drawn into the frames otherwise
    Embedded, // always drawn into the frames
    Metadata, // always metadata, never drawn
    Hidden,   // neither
};

// The cursor as consumers get it in SPA_META_Cursor: the image converted once per image.
class CursorMeta {
  public:
    // The cursor has a new image.
    void image_changed(const frame::Cursor &cursor);
    // Writes the cursor into the buffer's SPA_META_Cursor, if it has one. false when it has none.
    bool write(const frame::Cursor &cursor, spa_buffer &buffer) const;

  private:
    uint32_t width_ = 0, height_ = 0;
    std::vector<uint8_t> rgba_; // premultiplied R,G,B,A, cropped to kMaxCursorMetaSize
};

} // namespace vmcast::pipewire
