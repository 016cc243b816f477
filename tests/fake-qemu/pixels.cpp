#include "pixels.hpp"

#include "args.hpp"
#include "util.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>

namespace fakeqemu {

namespace {

enum { kA = 0, kR = 1, kG = 2, kB = 3 };

const std::map<std::string, uint32_t> &pixman_names() {
    static const std::map<std::string, uint32_t> names = {
        {"x8r8g8b8", 0x20020888},    {"a8r8g8b8", 0x20028888},    {"b8g8r8x8", 0x20080888},
        {"b8g8r8a8", 0x20088888},    {"x8b8g8r8", 0x20030888},    {"a8b8g8r8", 0x20038888},
        {"r8g8b8x8", 0x20090888},    {"r8g8b8a8", 0x20098888},    {"r8g8b8", 0x18020888},
        {"b8g8r8", 0x18030888},      {"r5g6b5", 0x10020565},      {"b5g6r5", 0x10030565},
        {"x1r5g5b5", 0x10020555},    {"a1r5g5b5", 0x10021555},    {"x2r10g10b10", 0x20020aaa},
        {"a2r10g10b10", 0x2002aaaa}, {"x2b10g10r10", 0x20030aaa}, {"a8", 0x08018000},
    };
    return names;
}

uint32_t to_bits(uint8_t v8, unsigned n) {
    if (n == 0)
        return 0;
    if (n <= 8)
        return v8 >> (8 - n);
    return (static_cast<uint32_t>(v8) << (n - 8)) | (v8 >> (16 - n));
}

uint8_t from_bits(uint32_t v, unsigned n) {
    if (n == 0)
        return 0;
    if (n >= 8)
        return static_cast<uint8_t>(v >> (n - 8));
    // Replicate the bits downwards, as pixman does when it expands to 8 bits.
    uint32_t out = 0;
    int pos = 8 - static_cast<int>(n);
    while (pos > -static_cast<int>(n)) {
        out |= pos >= 0 ? v << pos : v >> -pos;
        pos -= static_cast<int>(n);
    }
    return static_cast<uint8_t>(out & 0xff);
}

uint64_t splitmix64(uint64_t x) {
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

uint8_t scale(uint64_t v, uint64_t max) {
    return max == 0 ? 0 : static_cast<uint8_t>(v * 255 / max);
}

} // namespace

std::optional<PixelLayout> pixman_layout(uint32_t code) {
    PixelLayout l;
    l.code = code;
    unsigned bpp = code >> 24;
    unsigned type = (code >> 16) & 0xff;
    l.bits[kA] = (code >> 12) & 0xf;
    l.bits[kR] = (code >> 8) & 0xf;
    l.bits[kG] = (code >> 4) & 0xf;
    l.bits[kB] = code & 0xf;
    unsigned sum = l.bits[kA] + l.bits[kR] + l.bits[kG] + l.bits[kB];
    if ((bpp != 16 && bpp != 24 && bpp != 32) || sum > bpp || sum == 0)
        return std::nullopt;
    l.bytes = bpp / 8;
    const unsigned *b = l.bits;
    switch (type) {
    case 2: // ARGB: blue in the low bits
        l.shift[kB] = 0, l.shift[kG] = b[kB], l.shift[kR] = b[kB] + b[kG];
        l.shift[kA] = b[kB] + b[kG] + b[kR];
        break;
    case 3: // ABGR
        l.shift[kR] = 0, l.shift[kG] = b[kR], l.shift[kB] = b[kR] + b[kG];
        l.shift[kA] = b[kR] + b[kG] + b[kB];
        break;
    case 8: // BGRA: blue in the high bits
        l.shift[kB] = bpp - b[kB], l.shift[kG] = l.shift[kB] - b[kG];
        l.shift[kR] = l.shift[kG] - b[kR], l.shift[kA] = l.shift[kR] - b[kA];
        break;
    case 9: // RGBA
        l.shift[kR] = bpp - b[kR], l.shift[kG] = l.shift[kR] - b[kG];
        l.shift[kB] = l.shift[kG] - b[kB], l.shift[kA] = l.shift[kB] - b[kA];
        break;
    default:
        return std::nullopt;
    }
    return l;
}

unsigned pixman_bytes_per_pixel(uint32_t code) {
    return std::max(1u, ((code >> 24) + 7) / 8);
}

uint32_t parse_pixman_format(const std::string &text) {
    auto it = pixman_names().find(text);
    if (it != pixman_names().end())
        return it->second;
    uint64_t v = parse_u64("format", text);
    if (v > UINT32_MAX)
        throw CommandError(kBadCommand, "format: out of range");
    return static_cast<uint32_t>(v);
}

void encode_pixel(const PixelLayout &l, Rgba c, uint8_t *dst) {
    const uint8_t v[4] = {c.a, c.r, c.g, c.b};
    uint32_t word = 0;
    for (int i = 0; i < 4; i++)
        word |= to_bits(v[i], l.bits[i]) << l.shift[i];
    for (unsigned i = 0; i < l.bytes; i++) // native (little-endian) word
        dst[i] = static_cast<uint8_t>(word >> (8 * i));
}

Rgba decode_pixel(const PixelLayout &l, const uint8_t *src) {
    uint32_t word = 0;
    for (unsigned i = 0; i < l.bytes; i++)
        word |= static_cast<uint32_t>(src[i]) << (8 * i);
    uint8_t v[4];
    for (int i = 0; i < 4; i++) {
        uint32_t mask = l.bits[i] >= 32 ? ~0u : (1u << l.bits[i]) - 1;
        v[i] = from_bits((word >> l.shift[i]) & mask, l.bits[i]);
    }
    if (l.bits[kA] == 0)
        v[kA] = 255;
    return Rgba{v[kR], v[kG], v[kB], v[kA]};
}

Pattern Pattern::parse(const std::string &text) {
    Pattern p;
    p.text_ = text;
    std::string kind = text, arg;
    auto colon = text.find(':');
    if (colon != std::string::npos) {
        kind = text.substr(0, colon);
        arg = text.substr(colon + 1);
    }
    if (kind == "gradient" && arg.empty()) {
        p.kind_ = Kind::Gradient;
    } else if (kind == "solid" && (arg.size() == 6 || arg.size() == 8)) {
        uint64_t v = parse_u64("pattern", "0x" + arg);
        p.kind_ = Kind::Solid;
        p.color_ = Rgba{static_cast<uint8_t>(v >> 16), static_cast<uint8_t>(v >> 8),
                        static_cast<uint8_t>(v),
                        arg.size() == 8 ? static_cast<uint8_t>(v >> 24) : uint8_t{255}};
    } else if (kind == "random") {
        p.kind_ = Kind::Random;
        p.seed_ = arg.empty() ? 1 : parse_u64("pattern", arg);
    } else if (kind == "checker") {
        p.kind_ = Kind::Checker;
        p.block_ = arg.empty() ? 8 : static_cast<uint32_t>(parse_u64("pattern", arg));
        if (p.block_ == 0)
            throw CommandError(kBadCommand, "pattern: checker size must be > 0");
    } else {
        throw CommandError(kBadCommand, "unknown pattern '" + text +
                                            "' (gradient, solid:RRGGBB, random:SEED, checker[:N])");
    }
    return p;
}

Rgba Pattern::at(uint32_t x, uint32_t y) const {
    switch (kind_) {
    case Kind::Solid:
        return color_;
    case Kind::Random: {
        uint64_t h = splitmix64(seed_ ^ splitmix64((static_cast<uint64_t>(y) << 32) | x));
        return Rgba{static_cast<uint8_t>(h), static_cast<uint8_t>(h >> 8),
                    static_cast<uint8_t>(h >> 16), 255};
    }
    case Kind::Checker: {
        bool on = ((x / block_) + (y / block_)) & 1;
        return on ? Rgba{255, 255, 255, 255} : Rgba{0, 0, 0, 255};
    }
    case Kind::Gradient:
        break;
    }
    uint64_t w = ref_w_ > 1 ? ref_w_ - 1 : 1, h = ref_h_ > 1 ? ref_h_ - 1 : 1;
    return Rgba{scale(std::min<uint64_t>(x, w), w), scale(std::min<uint64_t>(y, h), h),
                static_cast<uint8_t>(255 - scale(std::min<uint64_t>(x + y, w + h), w + h)), 255};
}

uint8_t Pattern::raw_byte(uint64_t offset) const {
    return static_cast<uint8_t>(splitmix64(seed_ * 0x100000001b3ull + offset));
}

void Frame::resize(uint32_t w, uint32_t h) {
    std::vector<uint8_t> out(static_cast<size_t>(w) * h * 4, 0);
    for (size_t i = 3; i < out.size(); i += 4)
        out[i] = 255;
    uint32_t cw = std::min(w, width), ch = std::min(h, height);
    for (uint32_t y = 0; y < ch; y++)
        std::memcpy(&out[static_cast<size_t>(y) * w * 4], &bgra[static_cast<size_t>(y) * width * 4],
                    static_cast<size_t>(cw) * 4);
    width = w;
    height = h;
    bgra = std::move(out);
}

void Frame::put(uint32_t x, uint32_t y, Rgba c) {
    if (x >= width || y >= height)
        return;
    uint8_t *p = &bgra[(static_cast<size_t>(y) * width + x) * 4];
    p[0] = c.b, p[1] = c.g, p[2] = c.r, p[3] = c.a;
}

Rgba Frame::get(uint32_t x, uint32_t y) const {
    const uint8_t *p = &bgra[(static_cast<size_t>(y) * width + x) * 4];
    return Rgba{p[2], p[1], p[0], p[3]};
}

bool frame_size_ok(uint64_t width, uint64_t height) {
    return width > 0 && height > 0 && width <= 65536 && height <= 65536 &&
           width * height * 4 <= (256ull << 20);
}

std::string checksum_hex(const std::vector<uint8_t> &data) {
    uint64_t h = 0xcbf29ce484222325ull;
    for (uint8_t b : data)
        h = (h ^ b) * 0x100000001b3ull;
    char buf[17];
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
    return buf;
}

void save_frame(const std::string &path, const Frame &frame) {
    std::unique_ptr<FILE, int (*)(FILE *)> f(std::fopen(path.c_str(), "wb"), &std::fclose);
    if (!f)
        throw CommandError("fake-qemu.SaveFailed", "cannot open " + path + ": " + strerror(errno));
    std::fprintf(f.get(), "VMCASTFRAME %u %u BGRA 0\n", frame.width, frame.height);
    if (std::fwrite(frame.bgra.data(), 1, frame.bgra.size(), f.get()) != frame.bgra.size() ||
        std::fflush(f.get()) != 0)
        throw CommandError("fake-qemu.SaveFailed", "cannot write " + path);
}

std::vector<uint8_t> render_packed(const PixelLayout *layout, const Pattern &pattern, uint32_t px0,
                                   uint32_t py0, uint32_t width, uint32_t height, uint64_t stride,
                                   uint64_t size, bool flip) {
    std::vector<uint8_t> buf(size, 0);
    if (layout == nullptr) {
        for (uint64_t i = 0; i < size; i++)
            buf[i] = pattern.raw_byte(i);
        return buf;
    }
    const unsigned bpp = layout->bytes;
    for (uint32_t r = 0; r < height; r++) {
        uint64_t row = flip ? height - 1 - r : r;
        uint64_t base = row * stride;
        if (base >= size)
            continue;
        for (uint32_t c = 0; c < width; c++) {
            uint64_t in_row = static_cast<uint64_t>(c) * bpp;
            if (in_row + bpp > stride || base + in_row + bpp > size)
                break;
            encode_pixel(*layout, pattern.at(px0 + c, py0 + r), &buf[base + in_row]);
        }
    }
    return buf;
}

void paint_intended(Frame &frame, const PixelLayout *layout, const Pattern &pattern, uint32_t px0,
                    uint32_t py0, uint32_t width, uint32_t height, uint32_t dx, uint32_t dy) {
    uint8_t tmp[4];
    for (uint32_t r = 0; r < height && dy + r < frame.height; r++) {
        for (uint32_t c = 0; c < width && dx + c < frame.width; c++) {
            Rgba px = pattern.at(px0 + c, py0 + r);
            if (layout != nullptr) {
                encode_pixel(*layout, px, tmp);
                px = decode_pixel(*layout, tmp);
            }
            frame.put(dx + c, dy + r, px);
        }
    }
}

} // namespace fakeqemu
