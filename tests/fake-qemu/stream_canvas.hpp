// Cheap drawing for the stream command: solid fills, the seq stamp and scrolling text-like
// lines, written in place into a 32-bit surface (the console's 2D surface or its mapped memfd).
// Every operation touches only the pixels that change, so the peer stays cheap per frame.
#pragma once

#include "pixels.hpp"

#include <cstdint>
#include <string>

namespace fakeqemu {

struct Rect {
    uint32_t x = 0, y = 0, w = 0, h = 0;
};

enum class RegionKind { Full, Tenth, Small, Scroll };

// full | tenth | small | scroll; throws CommandError otherwise.
RegionKind parse_region(const std::string &text);
// The damage rectangle of a region on a width x height surface (width >= 4): at least 4
// pixels wide so that the stamp fits.
Rect region_rect(RegionKind kind, uint32_t width, uint32_t height);

// Height of one scrolled text line, in rows; glyph cells are 8 pixels wide.
inline constexpr uint32_t kTextLine = 16;
inline constexpr uint32_t kGlyphWidth = 8;

// A 32-bit packed surface the peer owns or has mapped.
struct Canvas {
    uint8_t *base = nullptr; // first byte of row 0
    uint64_t stride = 0;
    uint32_t width = 0, height = 0;
    PixelLayout layout;

    // An opaque pixel: the bits outside R, G and B (X or A) are all ones.
    uint32_t word(uint8_t r, uint8_t g, uint8_t b) const;
    void fill(const Rect &rect, uint32_t word);
    // seq in the 4 pixels from (x, y): pixel i is grey with level byte i of seq (byte 0 first).
    void stamp(uint32_t x, uint32_t y, uint32_t seq);
    // The low 16 bits of seq as 16 blocks of 16x16 pixels in a row from (x, y), bit 0 first:
    // white for 1, black for 0. Survives lossy video coding, for stamps read from a decoded
    // picture. Clipped to the surface.
    void stamp_blocks(uint32_t x, uint32_t y, uint32_t seq);
    // Moves the picture up by one text line and draws text line number `line` at the bottom.
    void scroll(uint64_t line);
    // The picture as a client shows it (for save= after a stream).
    Frame to_frame() const;
};

// The fill colour of frame seq: differs from the previous frame's in every tick.
Rgba seq_colour(uint32_t seq);

} // namespace fakeqemu
