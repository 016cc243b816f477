// The PCM formats vmcast takes from QEMU's AudioOutListener.Init: every format QEMU's mixing
// engine has, and nothing else.
#include <gtest/gtest.h>

#include "qemu/audio_format.h"

using vmcast::PcmFormat;
using vmcast::SampleKind;
using vmcast::qemu::AudioInit;
using vmcast::qemu::pcm_format;

namespace {

AudioInit init(uint8_t bits, bool is_signed, bool is_float, uint32_t rate, uint8_t channels,
               bool big_endian = false) {
    const uint32_t frame = uint32_t(bits / 8) * channels;
    return {bits, is_signed, is_float, rate, channels, frame, frame * rate, big_endian};
}

} // namespace

TEST(AudioFormat, TakesEveryFormatOfQemusMixingEngine) {
    struct Case {
        AudioInit init;
        PcmFormat format;
        const char *described;
    };
    const Case cases[] = {
        {init(16, true, false, 48000, 2),
         {SampleKind::Signed, 16, false, 48000, 2},
         "S16LE 48000 Hz, 2 channels"},
        {init(8, false, false, 22050, 1),
         {SampleKind::Unsigned, 8, false, 22050, 1},
         "U8 22050 Hz, 1 channel"},
        {init(8, true, false, 8000, 2),
         {SampleKind::Signed, 8, false, 8000, 2},
         "S8 8000 Hz, 2 channels"},
        {init(16, false, false, 44100, 2, true),
         {SampleKind::Unsigned, 16, true, 44100, 2},
         "U16BE 44100 Hz, 2 channels"},
        {init(32, true, false, 96000, 8),
         {SampleKind::Signed, 32, false, 96000, 8},
         "S32LE 96000 Hz, 8 channels"},
        {init(32, false, false, 48000, 2),
         {SampleKind::Unsigned, 32, false, 48000, 2},
         "U32LE 48000 Hz, 2 channels"},
        // QEMU's F32 says signed too.
        {init(32, true, true, 44100, 2, true),
         {SampleKind::Float, 32, true, 44100, 2},
         "F32BE 44100 Hz, 2 channels"},
    };
    for (const Case &c : cases) {
        std::string error;
        const auto format = pcm_format(c.init, error);
        ASSERT_TRUE(format) << c.described << ": " << error;
        EXPECT_EQ(*format, c.format) << c.described;
        EXPECT_EQ(describe(*format), c.described);
    }
}

TEST(AudioFormat, RefusesWhatQemuNeverSends) {
    struct Case {
        AudioInit init;
        const char *reason;
    };
    AudioInit frame_mismatch = init(16, true, false, 48000, 2);
    frame_mismatch.bytes_per_frame = 6;
    AudioInit second_mismatch = init(16, true, false, 48000, 2);
    second_mismatch.bytes_per_second = 1000;
    const Case cases[] = {
        {init(24, true, false, 48000, 2), "24 bits a sample (8, 16 or 32)"},
        {init(0, true, false, 48000, 2), "0 bits a sample (8, 16 or 32)"},
        {init(16, true, true, 48000, 2), "floating point samples of 16 bits (32 only)"},
        {init(16, true, false, 48000, 0), "0 channels (1 to 8)"},
        {init(16, true, false, 48000, 9), "9 channels (1 to 8)"},
        {init(16, true, false, 0, 2), "a rate of 0 Hz (1000 to 384000)"},
        {init(16, true, false, 4000000, 2), "a rate of 4000000 Hz (1000 to 384000)"},
        {frame_mismatch, "6 bytes a frame where 2 channels of 16 bits make 4"},
        {second_mismatch, "1000 bytes a second where 48000 frames of 4 bytes make 192000"},
    };
    for (const Case &c : cases) {
        std::string error;
        EXPECT_FALSE(pcm_format(c.init, error)) << c.reason;
        EXPECT_EQ(error, c.reason);
    }
}
