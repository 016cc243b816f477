// What a camera node offers (each EnumFormat fixed: format, size and rate, as browsers' capturer
// needs) and the bytes its buffers get from the B,G,R,X picture in each format, on real SPA pods.
#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include <spa/param/format-utils.h>
#include <spa/param/video/format-utils.h>
#include <spa/pod/iter.h>

#include "pipewire/stream_buffer.h"
#include "pipewire/stream_params.h"

namespace vmcast::pipewire {
namespace {

TEST(CameraFormats, EachIsFixedInFormatSizeAndRate) {
    uint8_t memory[1024];
    spa_pod_builder builder = SPA_POD_BUILDER_INIT(memory, sizeof(memory));
    const std::vector<const spa_pod *> formats = build_camera_formats(builder, 1920, 1080, 30);
    ASSERT_EQ(formats.size(), 2u);
    const spa_video_format expected[] = {SPA_VIDEO_FORMAT_BGRA, SPA_VIDEO_FORMAT_RGBA};
    for (size_t i = 0; i < formats.size(); i++) {
        ASSERT_TRUE(spa_pod_is_object_type(formats[i], SPA_TYPE_OBJECT_Format));
        // No choice anywhere: a consumer cannot pick another size or a variable rate.
        const auto *object = reinterpret_cast<const spa_pod_object *>(formats[i]);
        const spa_pod_prop *prop;
        SPA_POD_OBJECT_FOREACH(object, prop) {
            const bool choice =
                spa_pod_is_choice(&prop->value) &&
                SPA_POD_CHOICE_TYPE(reinterpret_cast<const spa_pod_choice *>(&prop->value)) !=
                    SPA_CHOICE_None;
            EXPECT_FALSE(choice) << "property " << prop->key << " of format " << i;
            EXPECT_NE(prop->key, SPA_FORMAT_VIDEO_modifier);
            EXPECT_NE(prop->key, SPA_FORMAT_VIDEO_maxFramerate);
        }
        spa_video_info_raw info{};
        ASSERT_GE(spa_format_video_raw_parse(formats[i], &info), 0);
        EXPECT_EQ(info.format, expected[i]);
        EXPECT_EQ(info.size.width, 1920u);
        EXPECT_EQ(info.size.height, 1080u);
        EXPECT_EQ(info.framerate.num, 30u);
        EXPECT_EQ(info.framerate.denom, 1u);
    }
}

// A 3x2 B,G,R,X picture whose X bytes are junk, as the compositor leaves them.
std::vector<uint8_t> picture() {
    return {1,  2,  3,  0x11, 4,  5,  6,  0x22, 7,  8,  9,  0x33,
            10, 11, 12, 0x44, 13, 14, 15, 0x55, 16, 17, 18, 0x66};
}

TEST(CameraCopy, BgraGetsOpaqueAlphaAndRgbaSwapsRedAndBlue) {
    const std::vector<uint8_t> src = picture();
    const frame::Rect all{0, 0, 3, 2};
    std::vector<uint8_t> bgra(src.size());
    copy_in_consumer_format(src.data(), 12, bgra.data(), 12, all, SPA_VIDEO_FORMAT_BGRA);
    EXPECT_EQ(bgra, (std::vector<uint8_t>{1,  2,  3,  255, 4,  5,  6,  255, 7,  8,  9,  255,
                                          10, 11, 12, 255, 13, 14, 15, 255, 16, 17, 18, 255}));
    std::vector<uint8_t> rgba(src.size());
    copy_in_consumer_format(src.data(), 12, rgba.data(), 12, all, SPA_VIDEO_FORMAT_RGBA);
    EXPECT_EQ(rgba, (std::vector<uint8_t>{3,  2,  1,  255, 6,  5,  4,  255, 9,  8,  7,  255,
                                          12, 11, 10, 255, 15, 14, 13, 255, 18, 17, 16, 255}));
    std::vector<uint8_t> bgrx(src.size());
    copy_in_consumer_format(src.data(), 12, bgrx.data(), 12, all, SPA_VIDEO_FORMAT_BGRx);
    EXPECT_EQ(bgrx, src);
}

TEST(CameraCopy, OnlyTheRectangleIsWritten) {
    const std::vector<uint8_t> src = picture();
    std::vector<uint8_t> dst(src.size(), 0xee);
    // The middle pixel of the second row only.
    copy_in_consumer_format(src.data(), 12, dst.data(), 12, {1, 1, 1, 1}, SPA_VIDEO_FORMAT_RGBA);
    std::vector<uint8_t> expected(src.size(), 0xee);
    expected[16] = 15, expected[17] = 14, expected[18] = 13, expected[19] = 255;
    EXPECT_EQ(dst, expected);
}

TEST(CameraCopy, InPlaceMatchesTheScreenStreamsConversion) {
    for (spa_video_format format : {SPA_VIDEO_FORMAT_BGRx, SPA_VIDEO_FORMAT_BGRA,
                                    SPA_VIDEO_FORMAT_RGBx, SPA_VIDEO_FORMAT_RGBA}) {
        const std::vector<uint8_t> src = picture();
        std::vector<uint8_t> copied(src.size());
        copy_in_consumer_format(src.data(), 12, copied.data(), 12, {0, 0, 3, 2}, format);
        std::vector<uint8_t> in_place = src;
        match_consumer_format(in_place.data(), 12, {0, 0, 3, 2}, format);
        EXPECT_EQ(in_place, copied) << format_name(format);
    }
}

} // namespace
} // namespace vmcast::pipewire
