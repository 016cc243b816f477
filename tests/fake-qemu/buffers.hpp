// Shared-memory buffers standing in for DMA-BUFs and QEMU's Unix.Map surfaces: memfds filled
// with a pattern in a DRM fourcc or pixman layout.
#pragma once

#include "pixels.hpp"
#include "util.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace fakeqemu {

inline constexpr uint32_t fourcc_code(char a, char b, char c, char d) {
    return static_cast<uint32_t>(a) | (static_cast<uint32_t>(b) << 8) |
           (static_cast<uint32_t>(c) << 16) | (static_cast<uint32_t>(d) << 24);
}
inline constexpr uint32_t kFourccNV12 = fourcc_code('N', 'V', '1', '2');
inline constexpr uint32_t kFourccYUYV = fourcc_code('Y', 'U', 'Y', 'V');
inline constexpr uint64_t kModifierInvalid = 0x00ffffffffffffffull;

// "XR24"-style code or a number (hex ok).
uint32_t parse_fourcc(const std::string &text);
std::string fourcc_name(uint32_t fourcc);
// The pixman format with the same memory layout, for single-plane RGB fourccs.
std::optional<uint32_t> fourcc_to_pixman(uint32_t fourcc);
// "linear", "invalid" or a number.
uint64_t parse_modifier(const std::string &text);

// A sealable memfd of the given size. Seals are applied by seal_memfd().
UniqueFd make_memfd(const char *name, uint64_t size);
void seal_memfd(int fd, bool shrink, bool grow);
// An fd that cannot be mmapped: the read end of a pipe. With keep_writer the write end is
// returned in writer (kept open by the caller), else it is closed at once.
UniqueFd make_pipe_fd(UniqueFd *writer);
uint64_t fd_size(int fd);

// Writes bytes at offset, clipped to the file's current size (never grows the file).
void pwrite_clipped(int fd, uint64_t offset, const uint8_t *data, uint64_t len, uint64_t file_size);

struct Plane {
    int fd = -1;
    uint64_t offset = 0;
    uint64_t stride = 0;
};

// Writes pattern pixels (x, y, w, h), in backing coordinates, into the planes in the
// fourcc's layout. Unknown fourccs get raw bytes over the whole planes. flip stores row y at
// row (backing_height - 1 - y). YUV uses BT.709 limited range; chroma rects are rounded out to
// the subsampling grid.
void write_region(const std::vector<Plane> &planes, uint32_t fourcc, const Pattern &pattern,
                  uint32_t x, uint32_t y, uint32_t w, uint32_t h, uint32_t backing_width,
                  uint32_t backing_height, bool flip);

// Same for a pixman-format surface at fd offset (Unix.Map).
void write_region_pixman(int fd, uint64_t offset, uint64_t stride, uint32_t format,
                         const Pattern &pattern, uint32_t x, uint32_t y, uint32_t w, uint32_t h);

// Default plane strides / sizes for a fourcc.
uint64_t default_stride(uint32_t fourcc, uint32_t plane, uint32_t width);
uint64_t plane_rows(uint32_t fourcc, uint32_t plane, uint32_t height);
uint32_t fourcc_planes(uint32_t fourcc);

} // namespace fakeqemu
