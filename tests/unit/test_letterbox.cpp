// Where a console's picture goes in a camera frame of another size, and the frame it gives.
#include "frame/letterbox.h"

#include <vector>

#include <gtest/gtest.h>

namespace vmcast::frame {
namespace {

TEST(Letterbox, SameAspectFillsTheFrame) {
    EXPECT_EQ(letterbox({640, 480}, {320, 240}), (Rect{0, 0, 320, 240}));
    EXPECT_EQ(letterbox({1280, 720}, {1920, 1080}), (Rect{0, 0, 1920, 1080}));
    EXPECT_EQ(letterbox({64, 48}, {64, 48}), (Rect{0, 0, 64, 48}));
}

TEST(Letterbox, WiderPictureGetsBarsAboveAndBelow) {
    // 720x400 (SeaBIOS text) into 1280x720: 1280x711, 9 rows left, the top bar 4 (even).
    EXPECT_EQ(letterbox({720, 400}, {1280, 720}), (Rect{0, 4, 1280, 711}));
    EXPECT_EQ(letterbox({80, 40}, {64, 48}), (Rect{0, 8, 64, 32}));
    EXPECT_EQ(letterbox({1920, 1080}, {320, 240}), (Rect{0, 30, 320, 180}));
}

TEST(Letterbox, TallerPictureGetsBarsLeftAndRight) {
    EXPECT_EQ(letterbox({640, 480}, {1920, 1080}), (Rect{240, 0, 1440, 1080}));
    EXPECT_EQ(letterbox({48, 64}, {64, 48}), (Rect{14, 0, 36, 48}));
    // 34 columns left over: 17 on the left would be odd, so 16.
    EXPECT_EQ(letterbox({100, 100}, {82, 48}), (Rect{16, 0, 48, 48}));
}

TEST(Letterbox, OffsetsAreEvenAndThePictureFits) {
    for (uint32_t pw : {1u, 3u, 17u, 640u, 721u, 8192u})
        for (uint32_t ph : {1u, 5u, 48u, 400u, 8192u})
            for (uint32_t fw : {16u, 18u, 320u, 1920u, 8192u})
                for (uint32_t fh : {16u, 30u, 240u, 1080u}) {
                    const Rect r = letterbox({pw, ph}, {fw, fh});
                    SCOPED_TRACE(testing::Message()
                                 << pw << "x" << ph << " in " << fw << "x" << fh);
                    EXPECT_EQ(r.x % 2, 0);
                    EXPECT_EQ(r.y % 2, 0);
                    EXPECT_GE(r.width, 1);
                    EXPECT_GE(r.height, 1);
                    EXPECT_LE(uint32_t(r.x + r.width), fw);
                    EXPECT_LE(uint32_t(r.y + r.height), fh);
                    // One side fills the frame; centred within one pixel and the even rounding.
                    EXPECT_TRUE(uint32_t(r.width) == fw || uint32_t(r.height) == fh);
                    EXPECT_LE(int64_t(fw) - r.width - 2 * r.x, 3);
                    EXPECT_LE(int64_t(fh) - r.height - 2 * r.y, 3);
                    EXPECT_GE(int64_t(fw) - r.width - 2 * r.x, 0);
                    EXPECT_GE(int64_t(fh) - r.height - 2 * r.y, 0);
                }
}

std::vector<uint8_t> solid(Size size, uint8_t b, uint8_t g, uint8_t r, uint8_t x) {
    std::vector<uint8_t> pixels(size_t(size.width) * size.height * 4);
    for (size_t i = 0; i < pixels.size(); i += 4) {
        pixels[i] = b;
        pixels[i + 1] = g;
        pixels[i + 2] = r;
        pixels[i + 3] = x;
    }
    return pixels;
}

// libyuv's filters work in fixed point: a solid 255 comes out as 253 at some ratios.
constexpr int kScalingError = 3;

TEST(LetterboxedFrame, BarsAreOpaqueBlackAndThePictureIsScaledIn) {
    const Size picture{80, 40};
    LetterboxedFrame frame(picture, {64, 48});
    // Left half blue, right half red: scaled, each stays on its side.
    std::vector<uint8_t> pixels = solid(picture, 0xff, 0, 0, 0xff);
    for (uint32_t y = 0; y < picture.height; y++)
        for (uint32_t x = picture.width / 2; x < picture.width; x++) {
            uint8_t *p = &pixels[(size_t(y) * picture.width + x) * 4];
            p[0] = 0;
            p[2] = 0xff;
        }
    frame.draw(pixels.data(), size_t(picture.width) * 4);
    const Rect fitted = frame.fitted();
    ASSERT_EQ(fitted, (Rect{0, 8, 64, 32}));
    for (uint32_t y = 0; y < 48; y++)
        for (uint32_t x = 0; x < 64; x++) {
            const uint8_t *p = frame.pixels() + y * frame.stride() + x * 4;
            SCOPED_TRACE(testing::Message() << "pixel " << x << "," << y);
            const bool inside = int32_t(y) >= fitted.y && int32_t(y) < fitted.y + fitted.height;
            if (!inside) {
                EXPECT_EQ(p[0] | p[1] | p[2], 0);
                EXPECT_EQ(p[3], 0xff);
            } else if (x < 31) {
                EXPECT_NEAR(p[0], 0xff, kScalingError);
                EXPECT_EQ(p[2], 0);
            } else if (x > 32) {
                EXPECT_EQ(p[0], 0);
                EXPECT_NEAR(p[2], 0xff, kScalingError);
            }
        }
}

} // namespace
} // namespace vmcast::frame
