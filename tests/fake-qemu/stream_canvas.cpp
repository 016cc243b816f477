// Drawing for the stream command; see stream_canvas.hpp.
#include "stream_canvas.hpp"

#include "util.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace fakeqemu {

namespace {

// Little-endian, as encode_pixel stores words; compilers merge this into one store.
void store(uint8_t *dst, uint32_t word) {
    dst[0] = static_cast<uint8_t>(word);
    dst[1] = static_cast<uint8_t>(word >> 8);
    dst[2] = static_cast<uint8_t>(word >> 16);
    dst[3] = static_cast<uint8_t>(word >> 24);
}

uint64_t mix(uint64_t v) { // splitmix64: deterministic "text" without any state
    v += 0x9e3779b97f4a7c15ull;
    v = (v ^ (v >> 30)) * 0xbf58476d1ce4e5b9ull;
    v = (v ^ (v >> 27)) * 0x94d049bb133111ebull;
    return v ^ (v >> 31);
}

// 60 glyph bits (10 rows of 6 columns inside the 8x16 cell) of one cell, 0 for a space or
// past the end of the line.
uint64_t glyph(uint64_t line, uint32_t cell, uint32_t line_cells) {
    if (cell >= line_cells)
        return 0;
    const uint64_t h = mix(line * 1000003u + cell);
    return h % 6 == 0 ? 0 : h >> 4;
}

} // namespace

RegionKind parse_region(const std::string &text) {
    if (text == "full")
        return RegionKind::Full;
    if (text == "tenth")
        return RegionKind::Tenth;
    if (text == "small")
        return RegionKind::Small;
    if (text == "scroll")
        return RegionKind::Scroll;
    throw CommandError(kBadCommand, "region: expected full, tenth, small or scroll");
}

Rect region_rect(RegionKind kind, uint32_t width, uint32_t height) {
    Rect r{0, 0, width, height};
    switch (kind) {
    case RegionKind::Full:
    case RegionKind::Scroll:
        return r;
    case RegionKind::Tenth: // sqrt(0.1) of each side: a tenth of the area
        r.x = width / 8, r.y = height / 8;
        r.w = static_cast<uint32_t>(std::lround(width * 0.3162));
        r.h = std::max<uint32_t>(1, static_cast<uint32_t>(std::lround(height * 0.3162)));
        break;
    case RegionKind::Small:
        r.x = width / 2, r.y = height / 2;
        r.w = std::min<uint32_t>(64, width - r.x);
        r.h = std::min<uint32_t>(64, height - r.y);
        break;
    }
    // The stamp needs 4 pixels in a row: widen, then move left to stay inside.
    r.w = std::max<uint32_t>(r.w, 4);
    r.x = std::min(r.x, width - r.w);
    r.h = std::min(r.h, height - r.y);
    return r;
}

Rgba seq_colour(uint32_t seq) {
    // Strides prime to 176: each channel steps every tick; 40..215 keeps clear of the stamp's
    // extremes without mattering to anyone.
    return Rgba{static_cast<uint8_t>(40 + seq * 53u % 176),
                static_cast<uint8_t>(40 + seq * 97u % 176),
                static_cast<uint8_t>(40 + seq * 29u % 176), 255};
}

uint32_t Canvas::word(uint8_t r, uint8_t g, uint8_t b) const {
    uint8_t bytes[4];
    encode_pixel(layout, Rgba{r, g, b, 255}, bytes);
    uint32_t w = static_cast<uint32_t>(bytes[0]) | static_cast<uint32_t>(bytes[1]) << 8 |
                 static_cast<uint32_t>(bytes[2]) << 16 | static_cast<uint32_t>(bytes[3]) << 24;
    uint32_t used = 0;
    for (int i = 1; i < 4; i++) // r, g, b
        used |= (layout.bits[i] >= 32 ? ~0u : (1u << layout.bits[i]) - 1) << layout.shift[i];
    return w | ~used; // X (or A) = all ones
}

void Canvas::fill(const Rect &rect, uint32_t w) {
    if (rect.w == 0 || rect.h == 0)
        return;
    uint8_t *first = base + uint64_t{rect.y} * stride + uint64_t{rect.x} * 4;
    for (uint32_t c = 0; c < rect.w; c++)
        store(first + uint64_t{c} * 4, w);
    const uint64_t row = uint64_t{rect.w} * 4;
    for (uint32_t r = 1; r < rect.h; r++)
        std::memcpy(first + uint64_t{r} * stride, first, row);
}

void Canvas::stamp(uint32_t x, uint32_t y, uint32_t seq) {
    uint8_t *p = base + uint64_t{y} * stride + uint64_t{x} * 4;
    for (unsigned i = 0; i < 4; i++) {
        const auto level = static_cast<uint8_t>(seq >> (8 * i));
        store(p + i * 4, word(level, level, level));
    }
}

void Canvas::stamp_blocks(uint32_t x, uint32_t y, uint32_t seq) {
    constexpr uint32_t kBlock = 16;
    const uint32_t white = word(0xff, 0xff, 0xff), black = word(0, 0, 0);
    for (uint32_t bit = 0; bit < 16; bit++) {
        const uint32_t left = x + bit * kBlock;
        if (left >= width || y >= height)
            break;
        fill(Rect{left, y, std::min(kBlock, width - left), std::min(kBlock, height - y)},
             (seq >> bit) & 1 ? white : black);
    }
}

void Canvas::scroll(uint64_t line) {
    const uint32_t rows = std::min(kTextLine, height);
    if (height > rows)
        std::memmove(base, base + uint64_t{rows} * stride, uint64_t{height - rows} * stride);
    const uint32_t bg = word(0x1c, 0x1e, 0x26), fg = word(0xd8, 0xd8, 0xd0);
    // Lines of 30..95 % of the width, as in a terminal or an editor.
    const uint32_t cells = (width + kGlyphWidth - 1) / kGlyphWidth;
    const auto line_cells = static_cast<uint32_t>(cells * (30 + mix(line) % 66) / 100);
    for (uint32_t r = 0; r < rows; r++) {
        uint8_t *dst = base + uint64_t{height - rows + r} * stride;
        const bool ink_row = r >= 3 && r < 13;
        for (uint32_t cell = 0; cell < cells; cell++) {
            const uint64_t bits = ink_row ? glyph(line, cell, line_cells) >> ((r - 3) * 6) : 0;
            for (uint32_t c = 0; c < kGlyphWidth; c++) {
                const uint32_t x = cell * kGlyphWidth + c;
                if (x >= width)
                    break;
                const bool ink = c >= 1 && c <= 6 && ((bits >> (c - 1)) & 1) != 0;
                store(dst + uint64_t{x} * 4, ink ? fg : bg);
            }
        }
    }
}

Frame Canvas::to_frame() const {
    Frame f;
    f.resize(width, height);
    for (uint32_t y = 0; y < height; y++)
        for (uint32_t x = 0; x < width; x++)
            f.put(x, y, decode_pixel(layout, base + uint64_t{y} * stride + uint64_t{x} * 4));
    return f;
}

} // namespace fakeqemu
