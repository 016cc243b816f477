// convert_to_bgra() against pixman itself: QEMU's pixels are pixman images, so pixman's own
// conversion to a8r8g8b8 is the definition of the right answer.
#include "frame/pixel_format.h"

#include <cstring>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <pixman.h>

namespace vmcast::frame {
namespace {

const uint32_t kAllCodes[] = {
    pixman_code::x8r8g8b8, pixman_code::a8r8g8b8, pixman_code::b8g8r8x8, pixman_code::b8g8r8a8,
    pixman_code::x8b8g8r8, pixman_code::a8b8g8r8, pixman_code::r8g8b8x8, pixman_code::r8g8b8a8,
    pixman_code::r8g8b8,   pixman_code::b8g8r8,   pixman_code::r5g6b5,   pixman_code::x1r5g5b5,
};

size_t round_up_to_4(size_t n) {
    return (n + 3) / 4 * 4;
}

// Source pixels in a buffer pixman accepts: 4-byte aligned, stride a multiple of 4.
struct SourceImage {
    uint32_t width;
    uint32_t height;
    size_t stride;
    std::vector<uint32_t> words;

    const uint8_t *bytes() const { return reinterpret_cast<const uint8_t *>(words.data()); }
    uint8_t *bytes() { return reinterpret_cast<uint8_t *>(words.data()); }
};

SourceImage random_image(const PixelFormat &format, uint32_t width, uint32_t height, size_t padding,
                         uint32_t seed) {
    SourceImage image{width, height, round_up_to_4(width * format.bytes_per_pixel) + padding, {}};
    image.words.resize(image.stride * height / 4);
    std::mt19937 random(seed);
    for (uint32_t &word : image.words) {
        word = random();
    }
    return image;
}

// Bytes B, G, R, A of pixman's SRC composite of the image onto an a8r8g8b8 destination.
std::vector<uint8_t> pixman_bgra(const PixelFormat &format, const SourceImage &image) {
    pixman_image_t *source = pixman_image_create_bits(
        pixman_format_code_t(format.pixman_code), int(image.width), int(image.height),
        const_cast<uint32_t *>(image.words.data()), int(image.stride));
    std::vector<uint32_t> argb(size_t(image.width) * image.height);
    pixman_image_t *destination = pixman_image_create_bits(
        PIXMAN_a8r8g8b8, int(image.width), int(image.height), argb.data(), int(image.width * 4));
    EXPECT_NE(source, nullptr);
    EXPECT_NE(destination, nullptr);
    pixman_image_composite32(PIXMAN_OP_SRC, source, nullptr, destination, 0, 0, 0, 0, 0, 0,
                             int(image.width), int(image.height));
    pixman_image_unref(source);
    pixman_image_unref(destination);

    std::vector<uint8_t> bgra;
    for (uint32_t pixel : argb) {
        bgra.insert(bgra.end(), {uint8_t(pixel), uint8_t(pixel >> 8), uint8_t(pixel >> 16),
                                 uint8_t(pixel >> 24)});
    }
    return bgra;
}

std::vector<uint8_t> convert(const PixelFormat &format, const uint8_t *src, size_t src_stride,
                             uint32_t width, uint32_t height) {
    std::vector<uint8_t> bgra(size_t(width) * height * 4, 0x5a);
    convert_to_bgra(format, src, src_stride, bgra.data(), size_t(width) * 4, width, height);
    return bgra;
}

// Reports the first differing pixel rather than thousands of byte mismatches.
void expect_same_pixels(const std::vector<uint8_t> &expected, const std::vector<uint8_t> &actual,
                        uint32_t width) {
    ASSERT_EQ(expected.size(), actual.size());
    for (size_t i = 0; i < expected.size(); i += 4) {
        if (std::memcmp(&expected[i], &actual[i], 4) != 0) {
            const size_t pixel = i / 4;
            ADD_FAILURE() << "pixel " << pixel % width << "," << pixel / width << ": expected BGRA "
                          << int(expected[i]) << "," << int(expected[i + 1]) << ","
                          << int(expected[i + 2]) << "," << int(expected[i + 3]) << " got "
                          << int(actual[i]) << "," << int(actual[i + 1]) << ","
                          << int(actual[i + 2]) << "," << int(actual[i + 3]);
            return;
        }
    }
}

class EachFormat : public testing::TestWithParam<uint32_t> {
  protected:
    const PixelFormat &format() const {
        const PixelFormat *found = find_pixman_format(GetParam());
        EXPECT_NE(found, nullptr);
        return *found;
    }
};

TEST_P(EachFormat, TableEntryMatchesPixmanCode) {
    const uint32_t code = GetParam();
    const PixelFormat &entry = format();
    EXPECT_EQ(entry.pixman_code, code);
    EXPECT_EQ(entry.bytes_per_pixel, PIXMAN_FORMAT_BPP(code) / 8);
    EXPECT_EQ(entry.has_alpha, PIXMAN_FORMAT_A(code) > 0);
    EXPECT_EQ(entry.converted_drm_format,
              entry.has_alpha ? kDrmFormatArgb8888 : kDrmFormatXrgb8888);
}

TEST_P(EachFormat, MatchesPixmanOnRandomPixels) {
    const SourceImage image = random_image(format(), 37, 11, 0, GetParam());
    const std::vector<uint8_t> actual =
        convert(format(), image.bytes(), image.stride, image.width, image.height);
    expect_same_pixels(pixman_bgra(format(), image), actual, image.width);
    if (!format().has_alpha) {
        for (size_t i = 3; i < actual.size(); i += 4) {
            ASSERT_EQ(actual[i], 0xff) << "alpha of pixel " << i / 4;
        }
    }
}

TEST_P(EachFormat, MatchesPixmanWithPaddedStrides) {
    const SourceImage image = random_image(format(), 5, 7, 12, GetParam() + 1);
    const size_t dst_stride = 5 * 4 + 8;
    std::vector<uint8_t> padded(dst_stride * 7, 0x77);
    convert_to_bgra(format(), image.bytes(), image.stride, padded.data(), dst_stride, 5, 7);

    std::vector<uint8_t> rows;
    for (size_t row = 0; row < 7; ++row) {
        const auto start = padded.begin() + std::ptrdiff_t(row * dst_stride);
        rows.insert(rows.end(), start, start + 5 * 4);
        for (size_t pad = 5 * 4; pad < dst_stride; ++pad) {
            ASSERT_EQ(padded[row * dst_stride + pad], 0x77) << "padding written in row " << row;
        }
    }
    expect_same_pixels(pixman_bgra(format(), image), rows, 5);
}

// Tight rows (width x bytes per pixel, 3-byte pixels included) starting at an odd address.
TEST_P(EachFormat, MatchesPixmanWithTightUnalignedRows) {
    const uint32_t width = 13;
    const uint32_t height = 6;
    const SourceImage image = random_image(format(), width, height, 0, GetParam() + 2);
    const size_t tight_stride = width * format().bytes_per_pixel;
    std::vector<uint8_t> tight(1 + tight_stride * height);
    for (uint32_t row = 0; row < height; ++row) {
        std::memcpy(&tight[1 + row * tight_stride], image.bytes() + row * image.stride,
                    tight_stride);
    }
    expect_same_pixels(pixman_bgra(format(), image),
                       convert(format(), tight.data() + 1, tight_stride, width, height), width);
}

TEST_P(EachFormat, SinglePixel) {
    const SourceImage image = random_image(format(), 1, 1, 0, GetParam() + 3);
    expect_same_pixels(pixman_bgra(format(), image),
                       convert(format(), image.bytes(), image.stride, 1, 1), 1);
}

INSTANTIATE_TEST_SUITE_P(PixelFormat, EachFormat, testing::ValuesIn(kAllCodes),
                         [](const testing::TestParamInfo<uint32_t> &info) {
                             return std::string(find_pixman_format(info.param)->name);
                         });

// Every 16-bit value, so each 5- and 6-bit channel value is widened the way pixman does.
TEST(PixelFormat, SixteenBitFormatsMatchPixmanForEveryValue) {
    for (uint32_t code : {pixman_code::r5g6b5, pixman_code::x1r5g5b5}) {
        const PixelFormat &format = *find_pixman_format(code);
        SourceImage image{256, 256, 512, std::vector<uint32_t>(256 * 128)};
        for (uint32_t value = 0; value < 65536; ++value) {
            const uint16_t pixel = uint16_t(value);
            std::memcpy(image.bytes() + value * 2, &pixel, 2);
        }
        SCOPED_TRACE(format.name);
        expect_same_pixels(pixman_bgra(format, image),
                           convert(format, image.bytes(), image.stride, 256, 256), 256);
    }
}

TEST(PixelFormat, KnownValues) {
    const auto one_pixel = [](uint32_t code, uint32_t word) {
        uint8_t src[4];
        std::memcpy(src, &word, 4);
        if (code == pixman_code::r5g6b5 || code == pixman_code::x1r5g5b5) {
            const uint16_t half = uint16_t(word);
            std::memcpy(src, &half, 2);
        }
        return convert(*find_pixman_format(code), src, 4, 1, 1);
    };
    using Bytes = std::vector<uint8_t>;
    EXPECT_EQ(one_pixel(pixman_code::x8r8g8b8, 0x00123456), (Bytes{0x56, 0x34, 0x12, 0xff}));
    EXPECT_EQ(one_pixel(pixman_code::a8r8g8b8, 0x80123456), (Bytes{0x56, 0x34, 0x12, 0x80}));
    EXPECT_EQ(one_pixel(pixman_code::b8g8r8a8, 0x56341280), (Bytes{0x56, 0x34, 0x12, 0x80}));
    EXPECT_EQ(one_pixel(pixman_code::a8b8g8r8, 0x80563412), (Bytes{0x56, 0x34, 0x12, 0x80}));
    EXPECT_EQ(one_pixel(pixman_code::r8g8b8a8, 0x12345680), (Bytes{0x56, 0x34, 0x12, 0x80}));
    EXPECT_EQ(one_pixel(pixman_code::r5g6b5, 0xf800), (Bytes{0x00, 0x00, 0xff, 0xff}));
    EXPECT_EQ(one_pixel(pixman_code::r5g6b5, 0x07e0), (Bytes{0x00, 0xff, 0x00, 0xff}));
    EXPECT_EQ(one_pixel(pixman_code::r5g6b5, 0x0010), (Bytes{0x84, 0x00, 0x00, 0xff}));
    EXPECT_EQ(one_pixel(pixman_code::x1r5g5b5, 0x8000), (Bytes{0x00, 0x00, 0x00, 0xff}));
    EXPECT_EQ(one_pixel(pixman_code::x1r5g5b5, 0x7c00), (Bytes{0x00, 0x00, 0xff, 0xff}));
}

TEST(PixelFormat, UnknownCodesAreNotFound) {
    EXPECT_EQ(find_pixman_format(0), nullptr);
    EXPECT_EQ(find_pixman_format(0x12345678), nullptr);
    EXPECT_EQ(find_pixman_format(PIXMAN_a2r10g10b10), nullptr);
    EXPECT_EQ(find_pixman_format(PIXMAN_a8), nullptr);
}

TEST(PixelFormat, ZeroSizeWritesNothing) {
    const uint8_t src[4] = {1, 2, 3, 4};
    uint8_t dst[4] = {9, 9, 9, 9};
    convert_to_bgra(*find_pixman_format(pixman_code::x8r8g8b8), src, 4, dst, 4, 0, 1);
    convert_to_bgra(*find_pixman_format(pixman_code::r8g8b8), src, 4, dst, 4, 1, 0);
    EXPECT_EQ(dst[0], 9);
    EXPECT_EQ(dst[3], 9);
}

} // namespace
} // namespace vmcast::frame
