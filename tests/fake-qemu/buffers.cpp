#include "buffers.hpp"

#include "args.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>

namespace fakeqemu {

namespace {

struct Yuv {
    uint8_t y, u, v;
};

uint8_t clamp8(double v) {
    return static_cast<uint8_t>(std::clamp(std::lround(v), 0L, 255L));
}

double luma(double r, double g, double b) {
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

// BT.709, limited range.
Yuv to_yuv(double r, double g, double b) {
    double yl = luma(r, g, b);
    return Yuv{clamp8(16.0 + yl * 219.0 / 255.0), clamp8(128.0 + (b - yl) / 1.8556 * 224.0 / 255.0),
               clamp8(128.0 + (r - yl) / 1.5748 * 224.0 / 255.0)};
}

// Average colour of the pattern over [x0,x1) x [y0,y1).
Yuv chroma_of(const Pattern &p, uint32_t x0, uint32_t x1, uint32_t y0, uint32_t y1) {
    double r = 0, g = 0, b = 0;
    unsigned n = 0;
    for (uint32_t y = y0; y < y1; y++) {
        for (uint32_t x = x0; x < x1; x++) {
            Rgba c = p.at(x, y);
            r += c.r, g += c.g, b += c.b;
            n++;
        }
    }
    n = std::max(n, 1u);
    return to_yuv(r / n, g / n, b / n);
}

uint64_t mem_row(uint32_t y, uint32_t rows, bool flip) {
    return flip ? rows - 1 - y : y;
}

} // namespace

uint32_t parse_fourcc(const std::string &text) {
    if (text.size() == 4 && !(text[0] >= '0' && text[0] <= '9'))
        return fourcc_code(text[0], text[1], text[2], text[3]);
    uint64_t v = parse_u64("fourcc", text);
    if (v > UINT32_MAX)
        throw CommandError(kBadCommand, "fourcc: out of range");
    return static_cast<uint32_t>(v);
}

std::string fourcc_name(uint32_t f) {
    std::string s;
    for (int i = 0; i < 4; i++) {
        char c = static_cast<char>((f >> (8 * i)) & 0xff);
        s += (c >= 0x20 && c < 0x7f) ? c : '?';
    }
    return s;
}

std::optional<uint32_t> fourcc_to_pixman(uint32_t fourcc) {
    switch (fourcc) {
    case fourcc_code('X', 'R', '2', '4'):
        return 0x20020888; // x8r8g8b8
    case fourcc_code('A', 'R', '2', '4'):
        return 0x20028888; // a8r8g8b8
    case fourcc_code('X', 'B', '2', '4'):
        return 0x20030888; // x8b8g8r8
    case fourcc_code('A', 'B', '2', '4'):
        return 0x20038888; // a8b8g8r8
    case fourcc_code('B', 'X', '2', '4'):
        return 0x20080888; // b8g8r8x8
    case fourcc_code('B', 'A', '2', '4'):
        return 0x20088888; // b8g8r8a8
    case fourcc_code('R', 'X', '2', '4'):
        return 0x20090888; // r8g8b8x8
    case fourcc_code('R', 'A', '2', '4'):
        return 0x20098888; // r8g8b8a8
    case fourcc_code('R', 'G', '2', '4'):
        return 0x18020888; // r8g8b8
    case fourcc_code('B', 'G', '2', '4'):
        return 0x18030888; // b8g8r8
    case fourcc_code('R', 'G', '1', '6'):
        return 0x10020565; // r5g6b5
    default:
        return std::nullopt;
    }
}

uint64_t parse_modifier(const std::string &text) {
    if (text == "linear")
        return 0;
    if (text == "invalid")
        return kModifierInvalid;
    return parse_u64("modifier", text);
}

UniqueFd make_memfd(const char *name, uint64_t size) {
    UniqueFd fd(memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING));
    if (!fd.valid())
        throw CommandError("fake-qemu.Failed", std::string("memfd_create: ") + strerror(errno));
    if (ftruncate(fd.get(), static_cast<off_t>(size)) != 0)
        throw CommandError("fake-qemu.Failed", std::string("ftruncate: ") + strerror(errno));
    return fd;
}

void seal_memfd(int fd, bool shrink, bool grow) {
    int seals = (shrink ? F_SEAL_SHRINK : 0) | (grow ? F_SEAL_GROW : 0);
    if (seals != 0 && fcntl(fd, F_ADD_SEALS, seals) != 0)
        throw CommandError("fake-qemu.Failed", std::string("F_ADD_SEALS: ") + strerror(errno));
}

UniqueFd make_pipe_fd(UniqueFd *writer) {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0)
        throw CommandError("fake-qemu.Failed", std::string("pipe: ") + strerror(errno));
    UniqueFd read_end(fds[0]), write_end(fds[1]);
    if (writer != nullptr)
        *writer = std::move(write_end);
    return read_end;
}

uint64_t fd_size(int fd) {
    struct stat st {};
    if (fstat(fd, &st) != 0 || st.st_size < 0)
        return 0;
    return static_cast<uint64_t>(st.st_size);
}

void pwrite_clipped(int fd, uint64_t offset, const uint8_t *data, uint64_t len,
                    uint64_t file_size) {
    if (offset >= file_size)
        return;
    len = std::min(len, file_size - offset);
    while (len > 0) {
        ssize_t n = pwrite(fd, data, len, static_cast<off_t>(offset));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return;
        data += n, offset += static_cast<uint64_t>(n), len -= static_cast<uint64_t>(n);
    }
}

uint32_t fourcc_planes(uint32_t fourcc) {
    return fourcc == kFourccNV12 ? 2 : 1;
}

uint64_t default_stride(uint32_t fourcc, uint32_t plane, uint32_t width) {
    if (fourcc == kFourccNV12)
        return plane == 0 ? width : (static_cast<uint64_t>(width) + 1) / 2 * 2;
    if (fourcc == kFourccYUYV)
        return (static_cast<uint64_t>(width) + 1) / 2 * 4;
    auto pix = fourcc_to_pixman(fourcc);
    return static_cast<uint64_t>(width) * (pix ? pixman_bytes_per_pixel(*pix) : 4);
}

uint64_t plane_rows(uint32_t fourcc, uint32_t plane, uint32_t height) {
    return (fourcc == kFourccNV12 && plane == 1) ? (height + 1) / 2 : height;
}

void write_region_pixman(int fd, uint64_t offset, uint64_t stride, uint32_t format,
                         const Pattern &pattern, uint32_t x, uint32_t y, uint32_t w, uint32_t h) {
    auto layout = pixman_layout(format);
    const uint64_t size = fd_size(fd);
    const unsigned bpp = layout ? layout->bytes : pixman_bytes_per_pixel(format);
    std::vector<uint8_t> row(static_cast<size_t>(w) * bpp);
    for (uint32_t r = 0; r < h; r++) {
        uint64_t at =
            offset + static_cast<uint64_t>(y + r) * stride + static_cast<uint64_t>(x) * bpp;
        for (uint32_t c = 0; c < w; c++) {
            if (layout)
                encode_pixel(*layout, pattern.at(x + c, y + r), &row[static_cast<size_t>(c) * bpp]);
            else
                for (unsigned i = 0; i < bpp; i++)
                    row[static_cast<size_t>(c) * bpp + i] = pattern.raw_byte(at + c * bpp + i);
        }
        pwrite_clipped(fd, at, row.data(), row.size(), size);
    }
}

void write_region(const std::vector<Plane> &planes, uint32_t fourcc, const Pattern &pattern,
                  uint32_t x, uint32_t y, uint32_t w, uint32_t h, uint32_t bw, uint32_t bh,
                  bool flip) {
    if (planes.empty())
        return;
    x = std::min(x, bw), y = std::min(y, bh);
    w = std::min(w, bw - x), h = std::min(h, bh - y);
    const Plane &p0 = planes[0];
    const uint64_t size0 = fd_size(p0.fd);
    if (auto pix = fourcc_to_pixman(fourcc)) {
        auto layout = pixman_layout(*pix);
        const unsigned bpp = layout->bytes;
        std::vector<uint8_t> row(static_cast<size_t>(w) * bpp);
        for (uint32_t r = 0; r < h; r++) {
            for (uint32_t c = 0; c < w; c++)
                encode_pixel(*layout, pattern.at(x + c, y + r), &row[static_cast<size_t>(c) * bpp]);
            uint64_t at = p0.offset + mem_row(y + r, bh, flip) * p0.stride + uint64_t{x} * bpp;
            pwrite_clipped(p0.fd, at, row.data(), row.size(), size0);
        }
        return;
    }
    if (fourcc == kFourccNV12 && planes.size() >= 2) {
        uint32_t x0 = x & ~1u, y0 = y & ~1u;
        uint32_t x1 = std::min(bw, (x + w + 1) & ~1u), y1 = std::min(bh, (y + h + 1) & ~1u);
        std::vector<uint8_t> row(x1 - x0);
        for (uint32_t yy = y0; yy < y1; yy++) {
            for (uint32_t xx = x0; xx < x1; xx++) {
                Rgba c = pattern.at(xx, yy);
                row[xx - x0] = to_yuv(c.r, c.g, c.b).y;
            }
            uint64_t at = p0.offset + mem_row(yy, bh, flip) * p0.stride + x0;
            pwrite_clipped(p0.fd, at, row.data(), row.size(), size0);
        }
        const Plane &p1 = planes[1];
        const uint64_t size1 = fd_size(p1.fd);
        const uint32_t chroma_rows = (bh + 1) / 2;
        std::vector<uint8_t> uv(x1 - x0 + 1);
        for (uint32_t cy = y0 / 2; cy < (y1 + 1) / 2; cy++) {
            size_t n = 0;
            for (uint32_t cx = x0 / 2; cx < (x1 + 1) / 2; cx++) {
                Yuv c = chroma_of(pattern, cx * 2, std::min(bw, cx * 2 + 2), cy * 2,
                                  std::min(bh, cy * 2 + 2));
                uv[n++] = c.u;
                uv[n++] = c.v;
            }
            uint64_t at = p1.offset + mem_row(cy, chroma_rows, flip) * p1.stride + x0;
            pwrite_clipped(p1.fd, at, uv.data(), n, size1);
        }
        return;
    }
    if (fourcc == kFourccYUYV) {
        uint32_t x0 = x & ~1u, x1 = (x + w + 1) & ~1u;
        std::vector<uint8_t> row((x1 - x0) * 2);
        for (uint32_t yy = y; yy < y + h; yy++) {
            for (uint32_t xx = x0; xx < x1; xx += 2) {
                Rgba a = pattern.at(xx, yy), b = pattern.at(std::min(xx + 1, bw - 1), yy);
                Yuv c = chroma_of(pattern, xx, std::min(bw, xx + 2), yy, yy + 1);
                uint8_t *o = &row[(xx - x0) * 2];
                o[0] = to_yuv(a.r, a.g, a.b).y, o[1] = c.u;
                o[2] = to_yuv(b.r, b.g, b.b).y, o[3] = c.v;
            }
            uint64_t at = p0.offset + mem_row(yy, bh, flip) * p0.stride + uint64_t{x0} * 2;
            pwrite_clipped(p0.fd, at, row.data(), row.size(), size0);
        }
        return;
    }
    // Unknown layout: raw bytes over every plane.
    for (const Plane &p : planes) {
        uint64_t size = fd_size(p.fd);
        if (size <= p.offset)
            continue;
        std::vector<uint8_t> raw(size - p.offset);
        for (size_t i = 0; i < raw.size(); i++)
            raw[i] = pattern.raw_byte(i);
        pwrite_clipped(p.fd, p.offset, raw.data(), raw.size(), size);
    }
}

} // namespace fakeqemu
