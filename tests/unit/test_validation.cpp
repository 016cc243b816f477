// Every size, stride and offset check on what the D-Bus peer sends, including the values whose
// products or sums overflow 32-bit arithmetic.
#include "frame/validation.h"

#include <cstdint>
#include <limits>
#include <string>

#include <gtest/gtest.h>

#include "frame/pixel_format.h"

namespace vmcast::frame {
namespace {

constexpr uint32_t kXrgb = pixman_code::x8r8g8b8;
constexpr int32_t kInt32Max = std::numeric_limits<int32_t>::max();
constexpr uint64_t kUint64Max = std::numeric_limits<uint64_t>::max();

// The check failed and its reason mentions `part` (a number or phrase that says what is wrong).
testing::AssertionResult rejected_with(const Invalid &invalid, const std::string &part) {
    if (!invalid) {
        return testing::AssertionFailure()
               << "accepted, expected a reason containing '" << part << "'";
    }
    if (invalid->find(part) == std::string::npos) {
        return testing::AssertionFailure() << "reason '" << *invalid << "' lacks '" << part << "'";
    }
    if (invalid->find('\n') != std::string::npos) {
        return testing::AssertionFailure() << "reason '" << *invalid << "' is not one line";
    }
    return testing::AssertionSuccess();
}

TEST(CheckScanout, AcceptsValidSurfaces) {
    EXPECT_EQ(check_scanout(640, 480, 2560, kXrgb, 2560 * 480), std::nullopt);
    EXPECT_EQ(check_scanout(1, 1, 4, kXrgb, 4), std::nullopt);
    // kMaxSurfacePixels, wide and tall.
    EXPECT_EQ(check_scanout(8192, 4096, 32768, kXrgb, size_t(32768) * 4096), std::nullopt);
    EXPECT_EQ(check_scanout(2048, 16384, 8192, kXrgb, size_t(8192) * 16384), std::nullopt);
    // Tight 24-bit rows and padded 16-bit rows; extra data is fine.
    EXPECT_EQ(check_scanout(3, 2, 9, pixman_code::r8g8b8, 18), std::nullopt);
    EXPECT_EQ(check_scanout(3, 2, 8, pixman_code::r5g6b5, 100), std::nullopt);
}

TEST(CheckScanout, RejectsStrideSmallerThanRow) {
    EXPECT_EQ(check_scanout(640, 480, 100, kXrgb, 10'000'000),
              "stride 100 is smaller than width 640 x 4 bytes per pixel");
    EXPECT_TRUE(rejected_with(check_scanout(3, 2, 8, pixman_code::r8g8b8, 100), "stride 8"));
    EXPECT_TRUE(rejected_with(check_scanout(3, 2, 5, pixman_code::r5g6b5, 100), "stride 5"));
}

TEST(CheckScanout, RejectsDataShorterThanStrideTimesHeight) {
    EXPECT_TRUE(rejected_with(check_scanout(640, 480, 2560, kXrgb, 2560 * 480 - 1), "1228799"));
    // QEMU sends whole rows, padding of the last included.
    EXPECT_TRUE(rejected_with(check_scanout(2, 2, 16, kXrgb, 16 + 8), "32"));
    EXPECT_TRUE(rejected_with(check_scanout(1, 1, 4, kXrgb, 0), "needs 4"));
}

TEST(CheckScanout, RejectsEmptyAndOversizedSurfaces) {
    EXPECT_TRUE(rejected_with(check_scanout(0, 480, 0, kXrgb, 0), "0x480 is empty"));
    EXPECT_TRUE(rejected_with(check_scanout(640, 0, 2560, kXrgb, 0), "640x0 is empty"));
    EXPECT_TRUE(rejected_with(check_scanout(16385, 1, 16385 * 4, kXrgb, 16385 * 4), "16385x1"));
    EXPECT_TRUE(rejected_with(check_scanout(1, 16385, 4, kXrgb, 4 * 16385), "1x16385"));
    EXPECT_TRUE(rejected_with(check_scanout(0xffffffff, 0xffffffff, 0xffffffff, kXrgb, SIZE_MAX),
                              "4294967295x4294967295"));
}

TEST(CheckScanout, ProductsDoNotOverflow) {
    // 65536 x 16384 and 0xffffffff x 16384 both pass 2^32.
    EXPECT_TRUE(
        rejected_with(check_scanout(2048, 16384, 0xffffffff, kXrgb, 4096), "needs 70368744161280"));
    EXPECT_TRUE(rejected_with(check_scanout(2048, 16384, 65536, kXrgb, 0), "needs 1073741824"));
    // 0x40000000 x 4 wraps to 0 in 32 bits, but the width limit catches it first.
    EXPECT_TRUE(
        rejected_with(check_scanout(0x40000000, 1, 0, kXrgb, 0), "exceeds the maximum 16384"));
}

TEST(CheckSurfaceSize, RejectsMoreThanTheMaximumPixels) {
    // Found by the hostile peer: each side within 16384, 1 GiB or 623 MB a picture.
    EXPECT_TRUE(rejected_with(check_scanout(16384, 16384, 65536, kXrgb, size_t(65536) * 16384),
                              "16384x16384 is more than the maximum 33554432 pixels"));
    EXPECT_TRUE(rejected_with(check_surface_size("grown surface", 10976, 14205),
                              "grown surface size 10976x14205"));
    EXPECT_TRUE(rejected_with(check_plane_in_fd(8193, 4096, 32772, 32772, 0, 1ull << 32),
                              "8193x4096 is more than"));
    EXPECT_EQ(check_surface_size("surface", 8192, 4096), std::nullopt);
}

TEST(CheckScanout, RejectsUnknownFormat) {
    EXPECT_EQ(check_scanout(640, 480, 2560, 0x12345678, 2560 * 480),
              "unsupported pixel format 0x12345678");
    EXPECT_TRUE(rejected_with(check_scanout(1, 1, 4, 0, 4), "0x00000000"));
}

TEST(CheckUpdate, AcceptsValidRectangles) {
    EXPECT_EQ(check_update(0, 0, 640, 480, 2560, kXrgb, 2560 * 480), std::nullopt);
    EXPECT_EQ(check_update(10, 20, 3, 2, 9, pixman_code::b8g8r8, 18), std::nullopt);
    // Outside any current surface is allowed, up to the maximum size.
    EXPECT_EQ(check_update(16383, 16383, 1, 1, 4, kXrgb, 4), std::nullopt);
}

TEST(CheckUpdate, RejectsShortBuffer) {
    EXPECT_TRUE(rejected_with(check_update(0, 0, 10, 10, 40, kXrgb, 399), "data is 399 bytes"));
    EXPECT_TRUE(rejected_with(check_update(0, 0, 10, 10, 40, kXrgb, 399), "needs 400"));
}

TEST(CheckUpdate, RejectsStrideAndFormat) {
    EXPECT_TRUE(rejected_with(check_update(0, 0, 10, 1, 39, kXrgb, 400), "stride 39"));
    EXPECT_TRUE(rejected_with(check_update(0, 0, 10, 1, 40, 0x12345678, 400), "0x12345678"));
}

TEST(CheckUpdate, RejectsNegativePosition) {
    EXPECT_TRUE(rejected_with(check_update(-1, 0, 1, 1, 4, kXrgb, 4), "-1,0 is negative"));
    EXPECT_TRUE(rejected_with(check_update(0, -5, 1, 1, 4, kXrgb, 4), "0,-5 is negative"));
    EXPECT_TRUE(rejected_with(
        check_update(std::numeric_limits<int32_t>::min(), 0, 1, 1, 4, kXrgb, 4), "negative"));
}

TEST(CheckUpdate, RejectsEmptyAndNegativeSizes) {
    EXPECT_TRUE(rejected_with(check_update(0, 0, 0, 1, 4, kXrgb, 4), "0x1 is empty"));
    EXPECT_TRUE(rejected_with(check_update(0, 0, 1, -1, 4, kXrgb, 4), "1x-1 is empty"));
}

TEST(CheckUpdate, RejectsRectanglesEndingPastTheMaximum) {
    EXPECT_TRUE(rejected_with(check_update(16380, 0, 5, 1, 20, kXrgb, 20), "ends at 16385,1"));
    EXPECT_TRUE(rejected_with(check_update(0, 16384, 1, 1, 4, kXrgb, 4), "ends at 1,16385"));
    // x + width passes INT32_MAX: a 32-bit sum would wrap negative and look small.
    EXPECT_TRUE(rejected_with(check_update(kInt32Max, 0, kInt32Max, 1, 4, kXrgb, 4),
                              "ends at 4294967294,1"));
    EXPECT_TRUE(rejected_with(check_update(1, 1, kInt32Max, kInt32Max, 0xffffffff, kXrgb, 0),
                              "ends at 2147483648,2147483648"));
}

TEST(CheckCursor, AcceptsValidCursors) {
    EXPECT_EQ(check_cursor(32, 32, 0, 0, 32 * 32 * 4), std::nullopt);
    EXPECT_EQ(check_cursor(512, 512, 512, 512, 512 * 512 * 4), std::nullopt);
    EXPECT_EQ(check_cursor(1, 1, 1, 0, 4), std::nullopt);
}

TEST(CheckCursor, RejectsOversizedCursors) {
    EXPECT_TRUE(rejected_with(check_cursor(513, 1, 0, 0, 513 * 4), "513x1 exceeds"));
    EXPECT_TRUE(rejected_with(check_cursor(1, 513, 0, 0, 513 * 4), "1x513 exceeds"));
    EXPECT_TRUE(rejected_with(check_cursor(kInt32Max, kInt32Max, 0, 0, SIZE_MAX), "exceeds"));
}

TEST(CheckCursor, RejectsEmptyCursors) {
    EXPECT_TRUE(rejected_with(check_cursor(0, 1, 0, 0, 0), "0x1 is empty"));
    EXPECT_TRUE(rejected_with(check_cursor(1, -1, 0, 0, 0), "1x-1 is empty"));
}

TEST(CheckCursor, RejectsShortData) {
    EXPECT_TRUE(
        rejected_with(check_cursor(32, 32, 0, 0, 32 * 32 * 4 - 1), "4095 bytes, 32x32 ARGB32"));
    EXPECT_TRUE(rejected_with(check_cursor(512, 512, 0, 0, 0), "needs 1048576"));
}

TEST(CheckCursor, RejectsHotSpotOutsideImage) {
    EXPECT_TRUE(rejected_with(check_cursor(32, 32, 33, 0, 4096), "hot spot 33,0"));
    EXPECT_TRUE(rejected_with(check_cursor(32, 32, 0, 33, 4096), "hot spot 0,33"));
    EXPECT_TRUE(rejected_with(check_cursor(32, 32, -1, 0, 4096), "hot spot -1,0"));
    EXPECT_TRUE(rejected_with(check_cursor(32, 32, 0, -1, 4096), "hot spot 0,-1"));
}

TEST(CheckPlaneInFd, AcceptsPlanesInsideTheFile) {
    EXPECT_EQ(check_plane_in_fd(640, 480, 2560, 2560, 0, 2560 * 480), std::nullopt);
    // The last row needs only row_bytes, not a whole stride.
    EXPECT_EQ(check_plane_in_fd(640, 2, 2560, 4096, 100, 100 + 4096 + 2560), std::nullopt);
}

TEST(CheckPlaneInFd, RejectsPlanesPastTheEnd) {
    EXPECT_TRUE(rejected_with(check_plane_in_fd(640, 480, 2560, 2560, 0, 2560 * 480 - 1),
                              "needs 1228800 bytes but the file has 1228799"));
    EXPECT_TRUE(rejected_with(check_plane_in_fd(640, 2, 2560, 4096, 101, 100 + 4096 + 2560),
                              "at offset 101"));
    EXPECT_TRUE(rejected_with(check_plane_in_fd(1, 1, 4, 4, 4097, 4096), "offset 4097"));
}

TEST(CheckPlaneInFd, OffsetAndSizesDoNotOverflow) {
    // offset + needed wraps past 2^64 back to a small number.
    EXPECT_TRUE(rejected_with(check_plane_in_fd(1, 1, 4, 4, kUint64Max - 1, kUint64Max),
                              "file has 18446744073709551615"));
    EXPECT_TRUE(rejected_with(check_plane_in_fd(2048, 16384, 0xffffffff, 0xffffffff, 0, 0xffffffff),
                              "needs"));
}

TEST(CheckPlaneInFd, RejectsBadGeometry) {
    EXPECT_TRUE(rejected_with(check_plane_in_fd(0, 1, 4, 4, 0, 4096), "0x1 is empty"));
    EXPECT_TRUE(rejected_with(check_plane_in_fd(16385, 1, 65540, 65540, 0, 1 << 20), "16385x1"));
    EXPECT_TRUE(rejected_with(check_plane_in_fd(640, 1, 2560, 2559, 0, 1 << 20),
                              "stride 2559 is smaller than its row size 2560"));
    // A row size that does not fit in 32 bits is always larger than any stride.
    EXPECT_TRUE(rejected_with(check_plane_in_fd(1, 1, uint64_t(1) << 40, 0xffffffff, 0, kUint64Max),
                              "smaller than its row size"));
    EXPECT_TRUE(rejected_with(check_plane_in_fd(1, 1, 0, 4, 0, 4096), "0 bytes"));
}

} // namespace
} // namespace vmcast::frame
