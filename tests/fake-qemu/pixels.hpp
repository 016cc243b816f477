// Pixel formats (pixman codes), test patterns, and the "intended picture" frames the peer
// records so that tests can compare vmcast's output with what was sent.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace fakeqemu {

struct Rgba {
    uint8_t r = 0, g = 0, b = 0, a = 255;
};

// Largest pixel buffer the peer generates (bytes).
inline constexpr uint64_t kMaxBuffer = 1ull << 30;

// Layout of a packed pixman format: PIXMAN_FORMAT(bpp, type, a, r, g, b) with type ARGB,
// ABGR, BGRA or RGBA and 16, 24 or 32 bits per pixel, stored as a native-endian word.
struct PixelLayout {
    uint32_t code = 0;
    unsigned bytes = 0;
    unsigned bits[4] = {};  // a, r, g, b
    unsigned shift[4] = {}; // a, r, g, b
};

inline constexpr uint32_t kPixmanX8R8G8B8 = 0x20020888;
inline constexpr uint32_t kPixmanA8R8G8B8 = 0x20028888;

std::optional<PixelLayout> pixman_layout(uint32_t code);
// Bytes per pixel of any pixman code (bpp field rounded up), at least 1.
unsigned pixman_bytes_per_pixel(uint32_t code);
// Accepts a number (hex ok) or a name such as x8r8g8b8.
uint32_t parse_pixman_format(const std::string &text);

void encode_pixel(const PixelLayout &layout, Rgba c, uint8_t *dst);
Rgba decode_pixel(const PixelLayout &layout, const uint8_t *src);

// gradient | solid:RRGGBB | solid:AARRGGBB | random:SEED | checker[:SIZE]
class Pattern {
  public:
    static Pattern parse(const std::string &text);
    // The picture size gradients and checkers are laid out against.
    void set_reference(uint32_t width, uint32_t height) {
        ref_w_ = width;
        ref_h_ = height;
    }
    Rgba at(uint32_t x, uint32_t y) const;
    // Filler for formats the peer cannot encode: a byte stream from the seed.
    uint8_t raw_byte(uint64_t offset) const;
    const std::string &text() const { return text_; }

  private:
    enum class Kind { Gradient, Solid, Random, Checker };
    Kind kind_ = Kind::Gradient;
    Rgba color_;
    uint64_t seed_ = 1;
    uint32_t block_ = 8;
    uint32_t ref_w_ = 1, ref_h_ = 1;
    std::string text_ = "gradient";
};

// A picture as tightly packed B,G,R,A bytes.
struct Frame {
    uint32_t width = 0, height = 0;
    std::vector<uint8_t> bgra;

    bool empty() const { return width == 0 || height == 0; }
    // New size; keeps the overlapping top-left part, fills the rest with opaque black.
    void resize(uint32_t w, uint32_t h);
    void put(uint32_t x, uint32_t y, Rgba c);
    Rgba get(uint32_t x, uint32_t y) const;
};

// Whether a frame of this size may be kept (limits memory on absurd sizes).
bool frame_size_ok(uint64_t width, uint64_t height);
// 64-bit FNV-1a of the bytes, as 16 hex digits.
std::string checksum_hex(const std::vector<uint8_t> &data);
// Writes "VMCASTFRAME <w> <h> BGRA 0\n" and the pixels; throws CommandError on failure.
void save_frame(const std::string &path, const Frame &frame);

// Renders pattern pixels (px0 + col, py0 + row) into a buffer of size bytes with the given
// stride. Without a layout the buffer is filled with raw bytes from the pattern's seed.
// flip stores pattern row r at buffer row (height - 1 - r).
std::vector<uint8_t> render_packed(const PixelLayout *layout, const Pattern &pattern, uint32_t px0,
                                   uint32_t py0, uint32_t width, uint32_t height, uint64_t stride,
                                   uint64_t size, bool flip = false);

// Paints what a correct client shows for pattern pixels (px0.., py0..) into frame at (dx, dy):
// each pixel goes through the layout's encoding (bit depth loss; alpha 255 without alpha bits).
// A null layout paints the pattern colours as they are.
void paint_intended(Frame &frame, const PixelLayout *layout, const Pattern &pattern, uint32_t px0,
                    uint32_t py0, uint32_t width, uint32_t height, uint32_t dx, uint32_t dy);

} // namespace fakeqemu
