// YUV to B,G,R,A conversion against hand-computed colours and a floating-point reference
// written straight from the BT.601 / BT.709 definitions.
#include "frame/yuv.h"

#include <algorithm>
#include <cmath>
#include <random>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "yuv_reference.h"

namespace vmcast::frame {
namespace {

enum class Layout { Nv12, Yuyv };

std::string layout_name(Layout layout) {
    return layout == Layout::Nv12 ? "Nv12" : "Yuyv";
}

// Names the layout in gtest's messages instead of dumping its bytes.
void PrintTo(Layout layout, std::ostream *out) {
    *out << layout_name(layout);
}

constexpr uint8_t kPlanePadding = 0xee;
constexpr uint8_t kUntouched = 0x5a;

// A YUV image in either layout. Rows may be padded past their pixels; padding holds
// kPlanePadding. The planes end right after the last row's pixels, so an address sanitizer
// build catches any read past the image.
class YuvImage {
  public:
    YuvImage(Layout layout, uint32_t width, uint32_t height, uint32_t padding = 0)
        : layout_(layout), width_(width), height_(height) {
        const uint32_t chroma_width = (width + 1) / 2;
        if (layout == Layout::Nv12) {
            stride_ = width + padding;
            plane_.assign(size_t(stride_) * (height - 1) + width, kPlanePadding);
            uv_stride_ = chroma_width * 2 + padding;
            const uint32_t chroma_height = (height + 1) / 2;
            uv_plane_.assign(size_t(uv_stride_) * (chroma_height - 1) + chroma_width * 2,
                             kPlanePadding);
        } else {
            stride_ = chroma_width * 4 + padding;
            plane_.assign(size_t(stride_) * (height - 1) + chroma_width * 4, kPlanePadding);
        }
    }

    uint32_t width() const { return width_; }
    uint32_t height() const { return height_; }
    // Pixels sharing one chroma sample: 2x2 for NV12, 2x1 for YUYV.
    uint32_t chroma_block_height() const { return layout_ == Layout::Nv12 ? 2 : 1; }

    uint8_t &luma(uint32_t x, uint32_t y) {
        return layout_ == Layout::Nv12 ? plane_[size_t(y) * stride_ + x]
                                       : plane_[size_t(y) * stride_ + size_t(x) * 2];
    }
    // The chroma sample covering pixel (x, y).
    uint8_t &u(uint32_t x, uint32_t y) {
        return layout_ == Layout::Nv12 ? uv_plane_[size_t(y / 2) * uv_stride_ + x / 2 * 2]
                                       : plane_[size_t(y) * stride_ + x / 2 * 4 + 1];
    }
    uint8_t &v(uint32_t x, uint32_t y) {
        return layout_ == Layout::Nv12 ? uv_plane_[size_t(y / 2) * uv_stride_ + x / 2 * 2 + 1]
                                       : plane_[size_t(y) * stride_ + x / 2 * 4 + 3];
    }

    void fill_random(uint32_t seed) {
        std::mt19937 random(seed);
        for (uint32_t y = 0; y < height_; y++) {
            for (uint32_t x = 0; x < width_; x++) {
                luma(x, y) = uint8_t(random());
                u(x, y) = uint8_t(random());
                v(x, y) = uint8_t(random());
            }
        }
    }

    void convert(Rect rect, uint8_t *dst, size_t dst_stride, YuvColorimetry colorimetry) const {
        if (layout_ == Layout::Nv12) {
            convert_nv12_to_bgra(plane_.data(), stride_, uv_plane_.data(), uv_stride_, width_,
                                 height_, rect, dst, dst_stride, colorimetry);
        } else {
            convert_yuyv_to_bgra(plane_.data(), stride_, width_, height_, rect, dst, dst_stride,
                                 colorimetry);
        }
    }

  private:
    Layout layout_;
    uint32_t width_;
    uint32_t height_;
    uint32_t stride_ = 0;
    uint32_t uv_stride_ = 0;
    std::vector<uint8_t> plane_;
    std::vector<uint8_t> uv_plane_;
};

// Destination pixels, rows padded by padding bytes, all starting as kUntouched.
struct BgraImage {
    BgraImage(uint32_t width_, uint32_t height_, size_t padding = 0)
        : width(width_), height(height_), stride(size_t(width_) * 4 + padding),
          bytes(stride * height_, kUntouched) {}

    const uint8_t *pixel(uint32_t x, uint32_t y) const { return &bytes[y * stride + x * 4]; }
    bool operator==(const BgraImage &) const = default;

    uint32_t width;
    uint32_t height;
    size_t stride;
    std::vector<uint8_t> bytes;
};

BgraImage convert_whole(const YuvImage &image, YuvColorimetry colorimetry = {},
                        size_t padding = 0) {
    BgraImage out(image.width(), image.height(), padding);
    image.convert({0, 0, int32_t(image.width()), int32_t(image.height())}, out.bytes.data(),
                  out.stride, colorimetry);
    return out;
}

// A conversion is right when each channel is the exact value rounded, give or take the
// fixed-point factors' error (under 0.005 here), which moves values within that of a .5 tie
// (about 1 in 2000) to the other side.
constexpr double kRoundingTolerance = 0.51;

// Every pixel of a whole-image conversion against the reference, reporting the first miss.
void expect_matches_reference(YuvImage &image, YuvColorimetry colorimetry) {
    const BgraImage out = convert_whole(image, colorimetry);
    for (uint32_t y = 0; y < image.height(); y++) {
        for (uint32_t x = 0; x < image.width(); x++) {
            const Yuv yuv{image.luma(x, y), image.u(x, y), image.v(x, y)};
            const Colour expected = reference_colour(yuv.y, yuv.u, yuv.v, colorimetry);
            // Checked before building a message: this runs for millions of pixels.
            if (!matches(out.pixel(x, y), expected, kRoundingTolerance)) {
                ADD_FAILURE() << "pixel " << x << "," << y << " YUV " << int(yuv.y) << ","
                              << int(yuv.u) << "," << int(yuv.v) << ": "
                              << mismatch(out.pixel(x, y), expected, kRoundingTolerance);
                return;
            }
        }
    }
}

constexpr YuvColorimetry kBt709Limited{YuvMatrix::Bt709, YuvRange::Limited};
constexpr YuvColorimetry kBt709Full{YuvMatrix::Bt709, YuvRange::Full};
constexpr YuvColorimetry kBt601Limited{YuvMatrix::Bt601, YuvRange::Limited};
constexpr YuvColorimetry kBt601Full{YuvMatrix::Bt601, YuvRange::Full};

std::string describe(YuvColorimetry colorimetry) {
    return std::string(colorimetry.matrix == YuvMatrix::Bt601 ? "BT.601" : "BT.709") +
           (colorimetry.range == YuvRange::Limited ? " limited" : " full");
}

constexpr YuvColorimetry kAllColorimetries[] = {kBt709Limited, kBt709Full, kBt601Limited,
                                                kBt601Full};

class EachLayout : public testing::TestWithParam<Layout> {};

// Codes worked out by hand from the standards' equations (rounded), and the colours they
// stand for.
struct KnownColour {
    const char *what;
    YuvColorimetry colorimetry;
    Yuv yuv;
    Rgb rgb;
};

const KnownColour kKnownColours[] = {
    {"BT.709 limited black", kBt709Limited, {16, 128, 128}, {0, 0, 0}},
    {"BT.709 limited white", kBt709Limited, {235, 128, 128}, {255, 255, 255}},
    {"BT.709 limited red", kBt709Limited, {63, 102, 240}, {255, 0, 0}},
    {"BT.709 limited green", kBt709Limited, {173, 42, 26}, {0, 255, 0}},
    {"BT.709 limited blue", kBt709Limited, {32, 240, 118}, {0, 0, 255}},
    {"BT.709 limited mid grey", kBt709Limited, {126, 128, 128}, {128, 128, 128}},
    {"BT.709 full black", kBt709Full, {0, 128, 128}, {0, 0, 0}},
    {"BT.709 full white", kBt709Full, {255, 128, 128}, {255, 255, 255}},
    {"BT.709 full red", kBt709Full, {54, 99, 255}, {255, 0, 0}},
    {"BT.709 full blue", kBt709Full, {18, 255, 116}, {0, 0, 255}},
    {"BT.601 limited black", kBt601Limited, {16, 128, 128}, {0, 0, 0}},
    {"BT.601 limited white", kBt601Limited, {235, 128, 128}, {255, 255, 255}},
    {"BT.601 limited red", kBt601Limited, {81, 90, 240}, {255, 0, 0}},
    {"BT.601 limited green", kBt601Limited, {145, 54, 34}, {0, 255, 0}},
    {"BT.601 limited blue", kBt601Limited, {41, 240, 110}, {0, 0, 255}},
    {"BT.601 full black", kBt601Full, {0, 128, 128}, {0, 0, 0}},
    {"BT.601 full white", kBt601Full, {255, 128, 128}, {255, 255, 255}},
    {"BT.601 full red", kBt601Full, {76, 85, 255}, {255, 0, 0}},
    {"BT.601 full green", kBt601Full, {150, 44, 21}, {0, 255, 0}},
    // Out-of-range codes clamp instead of wrapping around.
    {"BT.709 limited below black", kBt709Limited, {0, 128, 128}, {0, 0, 0}},
    {"BT.709 limited above white", kBt709Limited, {255, 128, 128}, {255, 255, 255}},
    {"BT.709 limited extreme chroma", kBt709Limited, {235, 255, 255}, {255, 160, 255}},
};

TEST_P(EachLayout, KnownColours) {
    for (const KnownColour &known : kKnownColours) {
        SCOPED_TRACE(known.what);
        // 3x3: every position in a chroma block, odd sizes included.
        YuvImage image(GetParam(), 3, 3);
        for (uint32_t y = 0; y < 3; y++) {
            for (uint32_t x = 0; x < 3; x++) {
                image.luma(x, y) = known.yuv.y;
                image.u(x, y) = known.yuv.u;
                image.v(x, y) = known.yuv.v;
            }
        }
        const BgraImage out = convert_whole(image, known.colorimetry);
        for (uint32_t y = 0; y < 3; y++) {
            for (uint32_t x = 0; x < 3; x++) {
                EXPECT_EQ(mismatch(out.pixel(x, y), known.rgb, 2), "") << "pixel " << x << "," << y;
            }
        }
    }
}

// Without a colorimetry argument the conversion is BT.709 limited range: BT.709 red comes out
// red, where BT.601 or full range would not.
TEST(Yuv, DefaultsToBt709Limited) {
    EXPECT_EQ(YuvColorimetry{}.matrix, YuvMatrix::Bt709);
    EXPECT_EQ(YuvColorimetry{}.range, YuvRange::Limited);
    const uint8_t luma[2] = {63, 63};
    const uint8_t chroma[2] = {102, 240};
    uint8_t nv12_out[8] = {};
    convert_nv12_to_bgra(luma, 2, chroma, 2, 2, 1, {0, 0, 2, 1}, nv12_out, 8);
    EXPECT_EQ(mismatch(nv12_out, Rgb{255, 0, 0}, 2), "");
    EXPECT_EQ(mismatch(nv12_out + 4, Rgb{255, 0, 0}, 2), "");
    const uint8_t yuyv[4] = {63, 102, 63, 240};
    uint8_t yuyv_out[8] = {};
    convert_yuyv_to_bgra(yuyv, 4, 2, 1, {0, 0, 2, 1}, yuyv_out, 8);
    EXPECT_EQ(mismatch(yuyv_out, Rgb{255, 0, 0}, 2), "");
    EXPECT_EQ(mismatch(yuyv_out + 4, Rgb{255, 0, 0}, 2), "");
}

// Black and white are exact, not merely close: a grey desktop must not come out tinted.
TEST_P(EachLayout, NeutralColoursAreExact) {
    for (const YuvColorimetry colorimetry : kAllColorimetries) {
        const bool limited = colorimetry.range == YuvRange::Limited;
        for (const auto &[y_code, value] :
             {std::pair{limited ? 16 : 0, 0}, std::pair{limited ? 235 : 255, 255}}) {
            YuvImage image(GetParam(), 2, 2);
            for (uint32_t y = 0; y < 2; y++) {
                for (uint32_t x = 0; x < 2; x++) {
                    image.luma(x, y) = uint8_t(y_code);
                    image.u(x, y) = 128;
                    image.v(x, y) = 128;
                }
            }
            const BgraImage out = convert_whole(image, colorimetry);
            EXPECT_EQ(mismatch(out.pixel(1, 1), Rgb{value, value, value}, 0), "")
                << "Y " << y_code << (limited ? " limited" : " full");
        }
    }
}

// Each pixel's own Y with the chroma sample covering it (left/top), on unsmooth content, for
// even and odd sizes.
TEST_P(EachLayout, RandomPixelsMatchReference) {
    for (const auto &[width, height] : {std::pair{64u, 48u}, std::pair{13u, 9u}, std::pair{1u, 1u},
                                        std::pair{1u, 5u}, std::pair{7u, 1u}}) {
        for (const YuvColorimetry colorimetry : kAllColorimetries) {
            SCOPED_TRACE(std::to_string(width) + "x" + std::to_string(height) + " " +
                         describe(colorimetry));
            YuvImage image(GetParam(), width, height);
            image.fill_random(width * 1000 + height);
            expect_matches_reference(image, colorimetry);
        }
    }
}

// Encode random RGB with the reference encoder, convert back: within 2 of the original per
// channel. Content is smooth: each chroma block gets one colour plus a per-pixel grey offset,
// which changes Y but not U and V, so subsampling loses nothing.
TEST_P(EachLayout, RoundTripBt709Limited) {
    for (const auto &[width, height] : {std::pair{64u, 48u}, std::pair{33u, 17u}}) {
        SCOPED_TRACE(std::to_string(width) + "x" + std::to_string(height));
        YuvImage image(GetParam(), width, height, 3);
        std::vector<Rgb> original(size_t(width) * height);
        std::mt19937 random(width + height);
        const uint32_t block_height = image.chroma_block_height();
        for (uint32_t by = 0; by < height; by += block_height) {
            for (uint32_t bx = 0; bx < width; bx += 2) {
                const Rgb base{int(random() % 256), int(random() % 256), int(random() % 256)};
                const Yuv chroma = encode_bt709_limited(base);
                const int lowest = std::min({base.r, base.g, base.b});
                const int highest = std::max({base.r, base.g, base.b});
                for (uint32_t y = by; y < std::min(by + block_height, height); y++) {
                    for (uint32_t x = bx; x < std::min(bx + 2, width); x++) {
                        const int offset =
                            int(random() % uint32_t(256 - (highest - lowest))) - lowest;
                        const Rgb pixel{base.r + offset, base.g + offset, base.b + offset};
                        original[size_t(y) * width + x] = pixel;
                        image.luma(x, y) = encode_bt709_limited(pixel).y;
                        image.u(x, y) = chroma.u;
                        image.v(x, y) = chroma.v;
                    }
                }
            }
        }
        const BgraImage out = convert_whole(image, kBt709Limited);
        int failures = 0;
        for (uint32_t y = 0; y < height && failures < 5; y++) {
            for (uint32_t x = 0; x < width && failures < 5; x++) {
                const std::string why =
                    mismatch(out.pixel(x, y), original[size_t(y) * width + x], 2);
                if (!why.empty()) {
                    ADD_FAILURE() << "pixel " << x << "," << y << ": " << why;
                    failures++;
                }
            }
        }
    }
}

// A sub-rectangle's pixels equal the whole conversion's; nothing else in dst (row padding
// included) is written.
TEST_P(EachLayout, SubRectangleWritesOnlyInside) {
    const uint32_t width = 13;
    const uint32_t height = 9;
    YuvImage image(GetParam(), width, height, 5);
    image.fill_random(7);
    const BgraImage whole = convert_whole(image, {}, 12);
    const Rect rects[] = {
        {0, 0, 13, 9}, {1, 1, 3, 3}, {2, 2, 4, 4},  {3, 1, 5, 6}, {0, 0, 1, 1},
        {12, 8, 1, 1}, {5, 0, 1, 9}, {0, 4, 13, 1}, {7, 3, 6, 6}, {11, 7, 2, 2},
    };
    for (const Rect &rect : rects) {
        SCOPED_TRACE(std::to_string(rect.x) + "," + std::to_string(rect.y) + " " +
                     std::to_string(rect.width) + "x" + std::to_string(rect.height));
        BgraImage out(width, height, 12);
        image.convert(rect, out.bytes.data(), out.stride, {});
        for (size_t offset = 0; offset < out.bytes.size(); offset++) {
            const int64_t y = int64_t(offset / out.stride);
            const int64_t x = int64_t(offset % out.stride) / 4;
            const bool inside =
                x >= rect.x && x < rect.x + rect.width && y >= rect.y && y < rect.y + rect.height;
            const uint8_t expected = inside ? whole.bytes[offset] : kUntouched;
            if (out.bytes[offset] != expected) {
                ADD_FAILURE() << "byte " << offset % out.stride << " of row " << y << " is "
                              << int(out.bytes[offset]) << ", expected " << int(expected)
                              << (inside ? " (inside)" : " (outside)");
                break;
            }
        }
    }
}

// Rectangles reaching past the image are cut to it; ones outside it or empty write nothing.
TEST_P(EachLayout, RectangleIsClippedToImage) {
    YuvImage image(GetParam(), 5, 3);
    image.fill_random(11);
    const BgraImage whole = convert_whole(image);

    BgraImage out(5, 3);
    image.convert({-2, -1, 100, 100}, out.bytes.data(), out.stride, {});
    EXPECT_EQ(out, whole);

    for (const Rect &rect : {Rect{5, 0, 2, 2}, Rect{0, 3, 2, 2}, Rect{-4, 0, 4, 3}, Rect{}}) {
        BgraImage nothing(5, 3);
        image.convert(rect, nothing.bytes.data(), nothing.stride, {});
        EXPECT_EQ(nothing, BgraImage(5, 3));
    }
}

// Padded source rows and a padded destination give the same pixels as tight ones.
TEST_P(EachLayout, StridesLargerThanRows) {
    for (const auto &[width, height] : {std::pair{16u, 6u}, std::pair{9u, 5u}}) {
        SCOPED_TRACE(std::to_string(width) + "x" + std::to_string(height));
        YuvImage tight(GetParam(), width, height);
        YuvImage padded(GetParam(), width, height, 67);
        tight.fill_random(3);
        padded.fill_random(3);
        const BgraImage expected = convert_whole(tight);
        const BgraImage out = convert_whole(padded, {}, 36);
        for (uint32_t y = 0; y < height; y++) {
            EXPECT_TRUE(
                std::equal(out.pixel(0, y), out.pixel(0, y) + width * 4, expected.pixel(0, y)))
                << "row " << y;
            EXPECT_TRUE(std::all_of(out.pixel(0, y) + width * 4, out.pixel(0, y) + out.stride,
                                    [](uint8_t byte) { return byte == kUntouched; }))
                << "padding of row " << y << " written";
        }
        expect_matches_reference(padded, {});
    }
}

INSTANTIATE_TEST_SUITE_P(Yuv, EachLayout, testing::Values(Layout::Nv12, Layout::Yuyv),
                         [](const testing::TestParamInfo<Layout> &info) {
                             return layout_name(info.param);
                         });

// Every Y, U, V triple, extremes that clamp included, against the reference: all 2^24 for
// vmcast's default BT.709 limited range, every third U value (0 and 255 included) for the
// others to keep the test quick. YUYV lets each row carry its own chroma, so one 256x256
// picture per U value holds every Y and V.
TEST(Yuv, EveryTripleMatchesReference) {
    for (const YuvColorimetry colorimetry : kAllColorimetries) {
        SCOPED_TRACE(describe(colorimetry));
        const bool is_default = colorimetry.matrix == YuvColorimetry{}.matrix &&
                                colorimetry.range == YuvColorimetry{}.range;
        YuvImage image(Layout::Yuyv, 256, 256);
        for (uint32_t y = 0; y < 256; y++) {
            for (uint32_t x = 0; x < 256; x++) {
                image.luma(x, y) = uint8_t(x);
                image.v(x, y) = uint8_t(y);
            }
        }
        for (int u = 0; u < 256; u += is_default ? 1 : 3) {
            for (uint32_t y = 0; y < 256; y++) {
                for (uint32_t x = 0; x < 256; x += 2) {
                    image.u(x, y) = uint8_t(u);
                }
            }
            expect_matches_reference(image, colorimetry);
            if (HasFailure()) {
                return;
            }
        }
    }
}

} // namespace
} // namespace vmcast::frame
