// MappedFrame: QEMU's shared memory surfaces (Listener.Unix.Map), checked against real memfds,
// including one that shrinks under a live mapping.
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstring>
#include <vector>

#include <gtest/gtest.h>

#include "frame/mapped_frame.h"
#include "frame/pixel_format.h"

namespace vmcast::frame {
namespace {

// A memfd of size bytes whose byte i is i * 7 (mod 256).
UniqueFd make_memfd(size_t size) {
    UniqueFd fd(memfd_create("test-frame", MFD_CLOEXEC));
    EXPECT_TRUE(fd.valid());
    std::vector<uint8_t> bytes(size);
    for (size_t i = 0; i < size; i++)
        bytes[i] = uint8_t(i * 7);
    EXPECT_EQ(write(fd.get(), bytes.data(), size), ssize_t(size));
    return fd;
}

TEST(MappedFrame, ShowsThePagesAtAnUnalignedOffset) {
    const uint32_t offset = 100, width = 16, height = 8, stride = 80;
    UniqueFd fd = make_memfd(offset + stride * height);
    std::string error;
    auto frame = MappedFrame::map(std::move(fd), offset, width, height, stride,
                                  pixman_code::x8r8g8b8, error);
    ASSERT_TRUE(frame) << error;
    EXPECT_EQ(frame->drm_format(), kDrmFormatXrgb8888);
    EXPECT_EQ(frame->stride(), stride);
    EXPECT_EQ(frame->data()[0], uint8_t(offset * 7));
    EXPECT_EQ(frame->data()[stride * 3 + 5], uint8_t((offset + stride * 3 + 5) * 7));
    EXPECT_TRUE(frame->still_backed(error));
}

TEST(MappedFrame, FormatsTheCompositorCannotReadAreConverted) {
    UniqueFd fd = make_memfd(3 * 10 * 4);
    std::string error;
    auto frame = MappedFrame::map(std::move(fd), 0, 10, 4, 30, pixman_code::r8g8b8, error);
    ASSERT_TRUE(frame) << error;
    EXPECT_EQ(frame->drm_format(), 0u);
    PixelSurface surface;
    PixelSurface::Change change;
    ASSERT_FALSE(frame->copy_to(surface, {}, change));
    EXPECT_EQ(surface.width(), 10u);
    EXPECT_TRUE(change.resized);
    // r8g8b8 bytes B,G,R become B,G,R,0xff.
    EXPECT_EQ(surface.data()[4 * 1 + 0], uint8_t(3 * 7));
    EXPECT_EQ(surface.data()[4 * 1 + 2], uint8_t(5 * 7));
    EXPECT_EQ(surface.data()[4 * 1 + 3], 0xff);
}

TEST(MappedFrame, RefusesPlanesPastTheEndOfTheFile) {
    std::string error;
    EXPECT_FALSE(MappedFrame::map(make_memfd(1000), 0, 16, 16, 64, pixman_code::x8r8g8b8, error));
    EXPECT_FALSE(error.empty());
    error.clear();
    EXPECT_FALSE(MappedFrame::map(make_memfd(4096), 4000, 16, 2, 64, pixman_code::x8r8g8b8, error));
    EXPECT_FALSE(error.empty());
    error.clear();
    EXPECT_FALSE(MappedFrame::map(make_memfd(4096), 0, 16, 2, 64, 0x12345678, error));
    EXPECT_NE(error.find("format"), std::string::npos);
}

TEST(MappedFrame, ReadingPagesTheOwnerTookAwayGivesZerosNotSigbus) {
    const uint32_t width = 1024, height = 16, stride = width * 4;
    UniqueFd fd = make_memfd(size_t(stride) * height);
    const int owner_fd = dup(fd.get());
    std::string error;
    auto frame =
        MappedFrame::map(std::move(fd), 0, width, height, stride, pixman_code::x8r8g8b8, error);
    ASSERT_TRUE(frame) << error;
    ASSERT_EQ(ftruncate(owner_fd, 4096), 0);
    close(owner_fd);

    EXPECT_FALSE(frame->still_backed(error));
    EXPECT_NE(error.find("shrank"), std::string::npos);
    // The last row lies beyond the new end of the file: without the guard this read kills
    // the process with SIGBUS.
    const volatile uint8_t *last_row = frame->data() + size_t(stride) * (height - 1);
    EXPECT_EQ(last_row[0], 0);
    PixelSurface surface;
    PixelSurface::Change change;
    EXPECT_FALSE(frame->copy_to(surface, {}, change));
    EXPECT_EQ(surface.data()[size_t(surface.stride()) * (height - 1)], 0);
}

} // namespace
} // namespace vmcast::frame
