// QEMU's cursor as PipeWire SPA_META_Cursor metadata, for consumers that draw the pointer
// themselves (OBS, browsers through the portal, remote desktops): position, hot spot and an
// RGBA bitmap of at most kMaxCursorMetaSize pixels a side.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include <spa/buffer/buffer.h>

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

class CursorState {
  public:
    // width x height native-endian ARGB32 words (straight alpha), as QEMU sends them.
    void set_image(uint32_t width, uint32_t height, int32_t hot_x, int32_t hot_y,
                   std::span<const uint8_t> argb);
    void set_position(int32_t x, int32_t y, bool visible);

    // Writes the cursor into the buffer's SPA_META_Cursor, if it has one. false when it has none.
    bool write_meta(spa_buffer &buffer) const;

  private:
    int32_t x_ = 0, y_ = 0, hot_x_ = 0, hot_y_ = 0;
    bool visible_ = false;
    uint32_t width_ = 0, height_ = 0;
    std::vector<uint8_t> rgba_; // premultiplied R,G,B,A, cropped to kMaxCursorMetaSize
};

} // namespace vmcast::pipewire
