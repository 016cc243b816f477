#include "frame/pixel_surface.h"

#include <array>
#include <bit>
#include <cstring>
#include <limits>
#include <span>
#include <vector>

#include <gtest/gtest.h>

#include "frame/pixel_format.h"

namespace vmcast::frame {
namespace {

using Bgra = std::array<uint8_t, 4>;
constexpr Bgra kBlack = {0, 0, 0, 0xff};

Bgra pixel_at(const PixelSurface &surface, uint32_t x, uint32_t y) {
    Bgra pixel;
    std::memcpy(pixel.data(), surface.data() + size_t(y) * surface.stride() + size_t(x) * 4, 4);
    return pixel;
}

// Distinct colour for every position, so a pixel in the wrong place shows.
uint32_t pattern_xrgb(uint32_t x, uint32_t y) {
    return 0x00100000 * (y + 1) | (x + 1) * 0x10;
}
Bgra pattern_bgra(uint32_t x, uint32_t y) {
    const uint32_t word = pattern_xrgb(x, y);
    return {uint8_t(word), uint8_t(word >> 8), uint8_t(word >> 16), 0xff};
}

// x8r8g8b8 rows of the pattern, stride bytes apart.
std::vector<uint8_t> pattern_pixels(uint32_t width, uint32_t height, uint32_t stride) {
    std::vector<uint8_t> bytes(size_t(stride) * height, 0xee);
    for (uint32_t y = 0; y < height; ++y) {
        for (uint32_t x = 0; x < width; ++x) {
            const uint32_t word = pattern_xrgb(x, y);
            std::memcpy(&bytes[size_t(y) * stride + x * 4], &word, 4);
        }
    }
    return bytes;
}

PixelSurface pattern_surface(uint32_t width, uint32_t height) {
    PixelSurface surface;
    PixelSurface::Change change;
    const auto bytes = pattern_pixels(width, height, width * 4 + 8);
    EXPECT_EQ(
        surface.apply_scanout(width, height, width * 4 + 8, pixman_code::x8r8g8b8, bytes, change),
        std::nullopt);
    return surface;
}

void expect_pattern(const PixelSurface &surface, uint32_t width, uint32_t height) {
    for (uint32_t y = 0; y < height; ++y) {
        for (uint32_t x = 0; x < width; ++x) {
            ASSERT_EQ(pixel_at(surface, x, y), pattern_bgra(x, y)) << "at " << x << "," << y;
        }
    }
}

TEST(PixelSurface, StartsEmpty) {
    PixelSurface surface;
    EXPECT_TRUE(surface.empty());
    EXPECT_EQ(surface.width(), 0u);
    EXPECT_EQ(surface.drm_format(), kDrmFormatXrgb8888);
}

TEST(PixelSurface, ScanoutStoresConvertedPixels) {
    PixelSurface surface;
    PixelSurface::Change change;
    const auto bytes = pattern_pixels(5, 3, 28);
    ASSERT_EQ(surface.apply_scanout(5, 3, 28, pixman_code::x8r8g8b8, bytes, change), std::nullopt);
    EXPECT_EQ(surface.width(), 5u);
    EXPECT_EQ(surface.height(), 3u);
    EXPECT_EQ(surface.stride(), 20u);
    EXPECT_EQ(surface.drm_format(), kDrmFormatXrgb8888);
    EXPECT_TRUE(change.resized);
    EXPECT_EQ(change.damage, (Rect{0, 0, 5, 3}));
    expect_pattern(surface, 5, 3);

    // Same size and format again: only damage.
    ASSERT_EQ(surface.apply_scanout(5, 3, 28, pixman_code::x8r8g8b8, bytes, change), std::nullopt);
    EXPECT_FALSE(change.resized);
    EXPECT_EQ(change.damage, (Rect{0, 0, 5, 3}));
}

TEST(PixelSurface, ScanoutFormatDecidesDrmFormat) {
    PixelSurface surface;
    PixelSurface::Change change;
    const std::vector<uint8_t> argb = {0x10, 0x20, 0x30, 0x40};
    ASSERT_EQ(surface.apply_scanout(1, 1, 4, pixman_code::a8r8g8b8, argb, change), std::nullopt);
    EXPECT_EQ(surface.drm_format(), kDrmFormatArgb8888);
    EXPECT_EQ(pixel_at(surface, 0, 0), (Bgra{0x10, 0x20, 0x30, 0x40}));

    ASSERT_EQ(surface.apply_scanout(1, 1, 4, pixman_code::x8r8g8b8, argb, change), std::nullopt);
    EXPECT_EQ(surface.drm_format(), kDrmFormatXrgb8888);
    EXPECT_TRUE(change.resized) << "a format change must be reported even at the same size";
    EXPECT_EQ(pixel_at(surface, 0, 0), (Bgra{0x10, 0x20, 0x30, 0xff}));
}

TEST(PixelSurface, UpdateWritesConvertedRectangleInPlace) {
    PixelSurface surface = pattern_surface(8, 6);
    // Tight 24-bit r8g8b8 rows: B, G, R bytes on little-endian hosts, as pixman reads them.
    const std::vector<uint8_t> update = {
        0x01, 0x02, 0x03, 0x04, 0x05, 0x06, // row 0
        0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, // row 1
    };
    PixelSurface::Change change;
    ASSERT_EQ(surface.apply_update(3, 1, 2, 2, 6, pixman_code::r8g8b8, update, change),
              std::nullopt);
    EXPECT_FALSE(change.resized);
    EXPECT_EQ(change.damage, (Rect{3, 1, 2, 2}));
    EXPECT_EQ(surface.width(), 8u);
    EXPECT_EQ(surface.height(), 6u);

    if constexpr (std::endian::native == std::endian::little) {
        EXPECT_EQ(pixel_at(surface, 3, 1), (Bgra{0x01, 0x02, 0x03, 0xff}));
        EXPECT_EQ(pixel_at(surface, 4, 1), (Bgra{0x04, 0x05, 0x06, 0xff}));
        EXPECT_EQ(pixel_at(surface, 3, 2), (Bgra{0x07, 0x08, 0x09, 0xff}));
        EXPECT_EQ(pixel_at(surface, 4, 2), (Bgra{0x0a, 0x0b, 0x0c, 0xff}));
    }
    for (uint32_t y = 0; y < 6; ++y) {
        for (uint32_t x = 0; x < 8; ++x) {
            if (x < 3 || x > 4 || y < 1 || y > 2) {
                ASSERT_EQ(pixel_at(surface, x, y), pattern_bgra(x, y)) << "at " << x << "," << y;
            }
        }
    }
}

TEST(PixelSurface, UpdatePastTheEdgeGrowsTheSurface) {
    PixelSurface surface = pattern_surface(4, 4);
    const uint32_t white = 0x00ffffff;
    std::vector<uint8_t> update(2 * 2 * 4);
    for (size_t i = 0; i < 4; ++i) {
        std::memcpy(&update[i * 4], &white, 4);
    }
    PixelSurface::Change change;
    ASSERT_EQ(surface.apply_update(5, 3, 2, 2, 8, pixman_code::x8r8g8b8, update, change),
              std::nullopt);
    EXPECT_TRUE(change.resized);
    EXPECT_EQ(change.damage, (Rect{0, 0, 7, 5}));
    ASSERT_EQ(surface.width(), 7u);
    ASSERT_EQ(surface.height(), 5u);
    EXPECT_EQ(surface.stride(), 28u);

    for (uint32_t y = 0; y < 5; ++y) {
        for (uint32_t x = 0; x < 7; ++x) {
            const bool old = x < 4 && y < 4;
            const bool updated = x >= 5 && y >= 3;
            const Bgra expected = old       ? pattern_bgra(x, y)
                                  : updated ? Bgra{0xff, 0xff, 0xff, 0xff}
                                            : kBlack;
            ASSERT_EQ(pixel_at(surface, x, y), expected) << "at " << x << "," << y;
        }
    }
}

TEST(PixelSurface, UpdateOnEmptySurfaceCreatesIt) {
    PixelSurface surface;
    const std::vector<uint8_t> update = {0x00, 0xf8}; // r5g6b5 pure red
    PixelSurface::Change change;
    ASSERT_EQ(surface.apply_update(1, 0, 1, 1, 2, pixman_code::r5g6b5, update, change),
              std::nullopt);
    EXPECT_TRUE(change.resized);
    EXPECT_EQ(surface.width(), 2u);
    EXPECT_EQ(surface.height(), 1u);
    EXPECT_EQ(pixel_at(surface, 0, 0), kBlack);
    if constexpr (std::endian::native == std::endian::little) {
        EXPECT_EQ(pixel_at(surface, 1, 0), (Bgra{0, 0, 0xff, 0xff}));
    }
}

TEST(PixelSurface, UpdateWithNewFormatReportsFormatChange) {
    PixelSurface surface = pattern_surface(3, 3);
    const std::vector<uint8_t> update = {1, 2, 3, 4};
    PixelSurface::Change change;
    ASSERT_EQ(surface.apply_update(1, 1, 1, 1, 4, pixman_code::a8r8g8b8, update, change),
              std::nullopt);
    EXPECT_EQ(surface.drm_format(), kDrmFormatArgb8888);
    EXPECT_TRUE(change.resized);
    EXPECT_EQ(change.damage, (Rect{0, 0, 3, 3}));
    EXPECT_EQ(pixel_at(surface, 1, 1), (Bgra{1, 2, 3, 4}));
}

class InvalidInput : public testing::Test {
  protected:
    void SetUp() override {
        surface_ = pattern_surface(6, 4);
        before_.assign(surface_.data(), surface_.data() + surface_.stride() * surface_.height());
    }

    // The call failed, reported no change and left every byte of the surface alone.
    void expect_rejected(const Invalid &invalid, const PixelSurface::Change &change) {
        EXPECT_TRUE(invalid.has_value());
        EXPECT_TRUE(change.damage.empty());
        EXPECT_FALSE(change.resized);
        ASSERT_EQ(surface_.width(), 6u);
        ASSERT_EQ(surface_.height(), 4u);
        EXPECT_EQ(surface_.drm_format(), kDrmFormatXrgb8888);
        const std::vector<uint8_t> after(surface_.data(),
                                         surface_.data() + surface_.stride() * surface_.height());
        EXPECT_EQ(after, before_);
    }

    PixelSurface surface_;
    std::vector<uint8_t> before_;
    const std::vector<uint8_t> buffer_ = std::vector<uint8_t>(4096, 0x42);
};

TEST_F(InvalidInput, UpdatesLeaveTheSurfaceByteIdentical) {
    PixelSurface::Change change{{1, 1, 1, 1}, true};
    const std::span<const uint8_t> short_data(buffer_.data(), 15);
    expect_rejected(surface_.apply_update(0, 0, 2, 2, 8, pixman_code::a8r8g8b8, short_data, change),
                    change);
    change = {{1, 1, 1, 1}, true};
    expect_rejected(surface_.apply_update(-1, 0, 2, 2, 8, pixman_code::a8r8g8b8, buffer_, change),
                    change);
    expect_rejected(surface_.apply_update(0, 0, 2, 2, 8, 0x12345678, buffer_, change), change);
    expect_rejected(surface_.apply_update(0, 0, 2, 2, 7, pixman_code::a8r8g8b8, buffer_, change),
                    change);
    expect_rejected(surface_.apply_update(std::numeric_limits<int32_t>::max(), 0, 2, 1, 8,
                                          pixman_code::a8r8g8b8, buffer_, change),
                    change);
    expect_rejected(
        surface_.apply_update(16383, 0, 2, 1, 8, pixman_code::a8r8g8b8, buffer_, change), change);
    // Within 16384 each way, but it would grow the surface past kMaxSurfacePixels (found by the
    // hostile peer: 10976x14205).
    expect_rejected(
        surface_.apply_update(10845, 11817, 1, 1, 4, pixman_code::a8r8g8b8, buffer_, change),
        change);
}

TEST_F(InvalidInput, ScanoutsLeaveTheSurfaceByteIdentical) {
    PixelSurface::Change change;
    expect_rejected(surface_.apply_scanout(2, 2, 8, pixman_code::a8r8g8b8,
                                           std::span<const uint8_t>(buffer_.data(), 15), change),
                    change);
    expect_rejected(surface_.apply_scanout(0, 2, 8, pixman_code::a8r8g8b8, buffer_, change),
                    change);
    expect_rejected(surface_.apply_scanout(16385, 1, 65540, pixman_code::a8r8g8b8, buffer_, change),
                    change);
    expect_rejected(surface_.apply_scanout(2, 2, 8, 0, buffer_, change), change);
}

TEST(PixelSurface, ResizeKeepsOverlapAndBlackensTheRest) {
    PixelSurface surface = pattern_surface(4, 4);
    PixelSurface::Change change;
    surface.resize(2, 6, change);
    EXPECT_TRUE(change.resized);
    EXPECT_EQ(change.damage, (Rect{0, 0, 2, 6}));
    ASSERT_EQ(surface.width(), 2u);
    ASSERT_EQ(surface.height(), 6u);
    EXPECT_EQ(surface.stride(), 8u);
    expect_pattern(surface, 2, 4);
    for (uint32_t y = 4; y < 6; ++y) {
        for (uint32_t x = 0; x < 2; ++x) {
            EXPECT_EQ(pixel_at(surface, x, y), kBlack) << "at " << x << "," << y;
        }
    }
}

TEST(PixelSurface, ResizeToSameSizeChangesNothing) {
    PixelSurface surface = pattern_surface(4, 4);
    PixelSurface::Change change{{0, 0, 1, 1}, true};
    surface.resize(4, 4, change);
    EXPECT_FALSE(change.resized);
    EXPECT_TRUE(change.damage.empty());
    expect_pattern(surface, 4, 4);
}

TEST(PixelSurface, ResizeThroughEmptyAndBack) {
    PixelSurface surface = pattern_surface(4, 4);
    PixelSurface::Change change;
    surface.resize(0, 4, change);
    EXPECT_TRUE(surface.empty());
    EXPECT_TRUE(change.resized);
    surface.resize(3, 2, change);
    ASSERT_EQ(surface.width(), 3u);
    for (uint32_t y = 0; y < 2; ++y) {
        for (uint32_t x = 0; x < 3; ++x) {
            EXPECT_EQ(pixel_at(surface, x, y), kBlack) << "at " << x << "," << y;
        }
    }
}

TEST(PixelSurface, ResizePastTheLimitsChangesNothing) {
    PixelSurface surface = pattern_surface(4, 4);
    PixelSurface::Change change;
    surface.resize(0xffffffff, 1, change);
    surface.resize(16384, 16384, change);
    EXPECT_FALSE(change.resized);
    expect_pattern(surface, 4, 4);
}

} // namespace
} // namespace vmcast::frame
