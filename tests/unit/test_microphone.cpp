// The buffer between the page's decoded microphone and QEMU's Reads: only the viewer that took
// it last, only in QEMU's format, at most 200 ms, whole frames out.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <thread>
#include <vector>

#include "common/microphone.h"

using vmcast::Microphone;
using vmcast::PcmFormat;

namespace {

const PcmFormat kS16Stereo48k{}; // the defaults: S16LE, 48 kHz, 2 channels

std::vector<uint8_t> frames(size_t count, uint8_t value) {
    return std::vector<uint8_t>(count * kS16Stereo48k.bytes_per_frame(), value);
}

size_t read_all(Microphone &microphone, std::vector<uint8_t> &out) {
    out.assign(48000 * 4, 0);
    const size_t got = microphone.read(out);
    out.resize(got);
    return got;
}

} // namespace

TEST(Microphone, KeepsOnlyTheOwnersSoundInQemusFormat) {
    Microphone microphone;
    std::vector<uint8_t> out;
    microphone.write(1, kS16Stereo48k, frames(10, 1));
    EXPECT_EQ(read_all(microphone, out), 0u) << "no format and no owner yet";
    microphone.set_format(kS16Stereo48k);
    microphone.write(1, kS16Stereo48k, frames(10, 1));
    EXPECT_EQ(read_all(microphone, out), 0u) << "nobody took it";
    microphone.take(1, {});
    microphone.write(2, kS16Stereo48k, frames(10, 2));
    PcmFormat mono = kS16Stereo48k;
    mono.channels = 1;
    microphone.write(1, mono, frames(10, 3));
    microphone.write(1, kS16Stereo48k, frames(10, 4));
    ASSERT_EQ(read_all(microphone, out), 40u);
    EXPECT_EQ(out, frames(10, 4));
}

TEST(Microphone, ATakeOverTellsThePreviousOwnerAndDropsItsSound) {
    Microphone microphone;
    microphone.set_format(kS16Stereo48k);
    int told_first = 0, told_second = 0;
    EXPECT_TRUE(microphone.take(1, [&] { ++told_first; }));
    microphone.write(1, kS16Stereo48k, frames(10, 1));
    EXPECT_FALSE(microphone.take(1, [&] { ++told_first; })) << "taking it again changes nothing";
    EXPECT_EQ(told_first, 0);
    EXPECT_TRUE(microphone.take(2, [&] { ++told_second; }));
    EXPECT_EQ(told_first, 1);
    std::vector<uint8_t> out;
    EXPECT_EQ(read_all(microphone, out), 0u) << "the first viewer's sound went with it";
    microphone.write(1, kS16Stereo48k, frames(10, 1));
    microphone.release(1); // no longer its: nothing changes
    microphone.write(2, kS16Stereo48k, frames(10, 2));
    ASSERT_EQ(read_all(microphone, out), 40u);
    EXPECT_EQ(out, frames(10, 2));
    microphone.release(2);
    microphone.write(2, kS16Stereo48k, frames(10, 2));
    EXPECT_EQ(read_all(microphone, out), 0u) << "released: nobody's sound is kept";
    EXPECT_EQ(told_second, 0);
}

TEST(Microphone, HoldsAtMost200MsAndGivesWholeFrames) {
    Microphone microphone;
    microphone.set_format(kS16Stereo48k);
    microphone.take(1, {});
    for (uint8_t second = 0; second < 3; ++second)
        microphone.write(1, kS16Stereo48k, frames(4800, second)); // 100 ms each
    std::vector<uint8_t> out(7);                                  // under two frames
    EXPECT_EQ(microphone.read(out), 4u);
    std::vector<uint8_t> rest;
    EXPECT_EQ(read_all(microphone, rest), 200u * 48 * 4 - 4) << "the oldest 100 ms went";
    EXPECT_EQ(rest.front(), 1);
    EXPECT_EQ(rest.back(), 2);
}

TEST(Microphone, ANewFormatOrNoRecordingDropsWhatWaits) {
    Microphone microphone;
    microphone.set_format(kS16Stereo48k);
    microphone.take(1, {});
    microphone.write(1, kS16Stereo48k, frames(10, 1));
    PcmFormat slower = kS16Stereo48k;
    slower.rate = 44100;
    microphone.set_format(slower);
    std::vector<uint8_t> out;
    EXPECT_EQ(read_all(microphone, out), 0u);
    microphone.write(1, slower, frames(10, 1));
    microphone.set_format(std::nullopt); // the guest stopped recording
    microphone.write(1, slower, frames(10, 1));
    microphone.set_format(slower); // and starts again: fresh sound only
    EXPECT_EQ(read_all(microphone, out), 0u);
}

TEST(Microphone, ReadsWholeFramesWhileAThreadWrites) {
    Microphone microphone;
    microphone.set_format(kS16Stereo48k);
    microphone.take(1, {});
    std::thread writer([&] {
        for (int i = 0; i < 2000; ++i)
            microphone.write(1, kS16Stereo48k, frames(48, 7));
    });
    std::vector<uint8_t> out(480 * 4);
    for (int i = 0; i < 2000; ++i) {
        const size_t got = microphone.read(out);
        ASSERT_TRUE(std::all_of(out.begin(), out.begin() + long(got), [](uint8_t b) {
            return b == 7;
        })) << "a torn or stale read";
    }
    writer.join();
}
