#include "frame/damage.h"

#include <algorithm>
#include <limits>
#include <utility>

#include <gtest/gtest.h>

namespace vmcast::frame {
namespace {

constexpr int32_t kInt32Max = std::numeric_limits<int32_t>::max();
constexpr int32_t kInt32Min = std::numeric_limits<int32_t>::min();

TEST(Rect, EmptyAndArea) {
    EXPECT_TRUE(Rect{}.empty());
    EXPECT_TRUE((Rect{5, 5, 0, 10}.empty()));
    EXPECT_TRUE((Rect{5, 5, 10, -1}.empty()));
    EXPECT_EQ((Rect{5, 5, -3, -3}.area()), 0u);
    EXPECT_EQ((Rect{0, 0, kInt32Max, kInt32Max}.area()), uint64_t(kInt32Max) * kInt32Max);
}

TEST(Intersect, OverlappingRectangles) {
    EXPECT_EQ(intersect({0, 0, 10, 10}, {5, 6, 10, 10}), (Rect{5, 6, 5, 4}));
    EXPECT_EQ(intersect({5, 6, 10, 10}, {0, 0, 10, 10}), (Rect{5, 6, 5, 4}));
    EXPECT_EQ(intersect({0, 0, 10, 10}, {2, 3, 4, 5}), (Rect{2, 3, 4, 5}));
    EXPECT_EQ(intersect({-5, -5, 10, 10}, {0, 0, 10, 10}), (Rect{0, 0, 5, 5}));
}

TEST(Intersect, TouchingOrDisjointRectanglesGiveEmpty) {
    EXPECT_TRUE(intersect({0, 0, 10, 10}, {10, 0, 10, 10}).empty());
    EXPECT_TRUE(intersect({0, 0, 10, 10}, {0, 10, 10, 10}).empty());
    EXPECT_TRUE(intersect({0, 0, 10, 10}, {50, 50, 1, 1}).empty());
    EXPECT_TRUE(intersect({0, 0, 10, 10}, {2, 2, 0, 5}).empty());
}

TEST(Intersect, FarEdgesPastInt32DoNotWrap) {
    EXPECT_EQ(intersect({kInt32Max - 10, 0, kInt32Max, 1}, {kInt32Max - 5, 0, 100, 1}),
              (Rect{kInt32Max - 5, 0, 100, 1}));
    EXPECT_EQ(intersect({kInt32Max - 10, 0, kInt32Max, 1}, {kInt32Max - 5, 0, kInt32Max, 1}),
              (Rect{kInt32Max - 5, 0, kInt32Max - 5, 1}));
}

TEST(BoundingBox, CoversBoth) {
    EXPECT_EQ(bounding_box({0, 0, 10, 10}, {20, 30, 5, 5}), (Rect{0, 0, 25, 35}));
    EXPECT_EQ(bounding_box({-4, 3, 2, 2}, {0, 0, 1, 1}), (Rect{-4, 0, 5, 5}));
}

TEST(BoundingBox, IgnoresEmptyArguments) {
    EXPECT_EQ(bounding_box({100, 100, 0, 0}, {1, 2, 3, 4}), (Rect{1, 2, 3, 4}));
    EXPECT_EQ(bounding_box({1, 2, 3, 4}, {-100, -100, 5, 0}), (Rect{1, 2, 3, 4}));
    EXPECT_TRUE(bounding_box({1, 1, 0, 0}, {2, 2, -1, 0}).empty());
}

TEST(BoundingBox, ClampsSpansPastInt32) {
    const Rect box = bounding_box({kInt32Min, 0, 1, 1}, {kInt32Max - 1, 0, 1, 1});
    EXPECT_EQ(box.x, kInt32Min);
    EXPECT_EQ(box.width, kInt32Max);
}

TEST(ClipToSurface, KeepsThePartInside) {
    EXPECT_EQ(clip_to_surface({-5, -5, 20, 20}, 10, 10), (Rect{0, 0, 10, 10}));
    EXPECT_EQ(clip_to_surface({3, 4, 5, 6}, 640, 480), (Rect{3, 4, 5, 6}));
    EXPECT_EQ(clip_to_surface({630, 470, 20, 20}, 640, 480), (Rect{630, 470, 10, 10}));
}

TEST(ClipToSurface, OutsideOrEmptyGivesEmpty) {
    EXPECT_TRUE(clip_to_surface({640, 0, 10, 10}, 640, 480).empty());
    EXPECT_TRUE(clip_to_surface({-10, 0, 10, 10}, 640, 480).empty());
    EXPECT_TRUE(clip_to_surface({0, 0, 10, 10}, 0, 480).empty());
    EXPECT_TRUE(clip_to_surface({0, 0, 0, 10}, 640, 480).empty());
}

TEST(ClipToSurface, HugeSurfaceSizesDoNotWrap) {
    EXPECT_EQ(clip_to_surface({5, 5, 10, 10}, 0xffffffff, 0xffffffff), (Rect{5, 5, 10, 10}));
    EXPECT_EQ(clip_to_surface({kInt32Max - 1, 0, kInt32Max, 1}, 0xffffffff, 1),
              (Rect{kInt32Max - 1, 0, 1, 1}));
}

TEST(FlipY, MirrorsRows) {
    EXPECT_EQ(flip_y({1, 0, 5, 10}, 100), (Rect{1, 90, 5, 10}));
    EXPECT_EQ(flip_y({0, 90, 5, 10}, 100), (Rect{0, 0, 5, 10}));
    EXPECT_EQ(flip_y({0, 0, 5, 100}, 100), (Rect{0, 0, 5, 100}));
    EXPECT_EQ(flip_y({0, 40, 5, 10}, 100), (Rect{0, 50, 5, 10}));
    EXPECT_EQ(flip_y(flip_y({3, 7, 11, 13}, 480), 480), (Rect{3, 7, 11, 13}));
}

TEST(DamageRegion, StartsEmpty) {
    DamageRegion region;
    EXPECT_TRUE(region.empty());
    EXPECT_EQ(region.area(), 0u);
    EXPECT_TRUE(region.rects().empty());
    EXPECT_TRUE(region.extents().empty());
}

TEST(DamageRegion, AddIgnoresEmptyRects) {
    DamageRegion region(Rect{5, 5, 0, 3});
    region.add({1, 1, -2, 2});
    EXPECT_TRUE(region.empty());
}

TEST(DamageRegion, OverlapsAreCountedOnce) {
    DamageRegion region(Rect{0, 0, 10, 10});
    region.add({5, 5, 10, 10});
    region.add({0, 0, 10, 10});
    EXPECT_EQ(region.area(), 175u);
    EXPECT_EQ(region.extents(), (Rect{0, 0, 15, 15}));
}

TEST(DamageRegion, AddRegionMerges) {
    DamageRegion a(Rect{0, 0, 10, 10});
    DamageRegion b(Rect{20, 0, 10, 10});
    b.add({0, 0, 5, 5});
    a.add(b);
    EXPECT_EQ(a.area(), 200u);
    EXPECT_EQ(a.extents(), (Rect{0, 0, 30, 10}));
    EXPECT_EQ(b.area(), 125u);
}

TEST(DamageRegion, AdjacentRectsCoalesce) {
    DamageRegion region(Rect{0, 0, 10, 10});
    region.add({10, 0, 10, 10});
    ASSERT_EQ(region.rects().size(), 1u);
    EXPECT_EQ(region.rects()[0], (Rect{0, 0, 20, 10}));
}

TEST(DamageRegion, FarEdgesPastInt32AreClamped) {
    DamageRegion region(Rect{kInt32Max - 10, 0, 100, 1});
    EXPECT_EQ(region.extents(), (Rect{kInt32Max - 10, 0, 10, 1}));
}

TEST(DamageRegion, ClearAndClip) {
    DamageRegion region(Rect{-10, -10, 30, 30});
    region.add({100, 100, 5, 5});
    region.clip_to_surface(15, 12);
    EXPECT_EQ(region.rects(), (std::vector<Rect>{{0, 0, 15, 12}}));
    region.clip_to_surface(0, 12);
    EXPECT_TRUE(region.empty());

    region.add({1, 1, 1, 1});
    region.clear();
    EXPECT_TRUE(region.empty());
    EXPECT_EQ(region.area(), 0u);
}

// 20 disjoint rectangles on a diagonal, so pixman cannot merge any of them.
DamageRegion twenty_disjoint_rects() {
    DamageRegion region;
    for (int32_t i = 0; i < 20; ++i) {
        region.add({i * 10, i * 10, 5, 5});
    }
    return region;
}

TEST(DamageRegion, RectsLimitedKeepsCoverage) {
    const DamageRegion region = twenty_disjoint_rects();
    ASSERT_EQ(region.rects().size(), 20u);

    const std::vector<Rect> limited = region.rects_limited(16);
    ASSERT_EQ(limited.size(), 16u);
    const std::vector<Rect> all = region.rects();
    for (size_t i = 0; i < 15; ++i) {
        EXPECT_EQ(limited[i], all[i]);
    }
    EXPECT_EQ(limited[15], (Rect{150, 150, 45, 45}));

    DamageRegion covered;
    for (const Rect &r : limited) {
        covered.add(r);
    }
    DamageRegion missed = region;
    pixman_region32_subtract(missed.native(), missed.native(), covered.native());
    EXPECT_TRUE(missed.empty());
}

TEST(DamageRegion, RectsLimitedWithFewRectsReturnsThemAll) {
    const DamageRegion region = twenty_disjoint_rects();
    EXPECT_EQ(region.rects_limited(20), region.rects());
    EXPECT_EQ(region.rects_limited(100), region.rects());
    EXPECT_EQ(region.rects_limited(1), (std::vector<Rect>{{0, 0, 195, 195}}));
    EXPECT_TRUE(DamageRegion().rects_limited(16).empty());
}

TEST(DamageRegion, CopyIsIndependent) {
    DamageRegion original = twenty_disjoint_rects();
    DamageRegion copy(original);
    EXPECT_EQ(copy.rects(), original.rects());

    copy.add({500, 500, 1, 1});
    EXPECT_EQ(copy.rects().size(), 21u);
    EXPECT_EQ(original.rects().size(), 20u);

    DamageRegion assigned(Rect{1, 1, 1, 1});
    assigned = original;
    EXPECT_EQ(assigned.rects(), original.rects());
    original.clear();
    EXPECT_EQ(assigned.rects().size(), 20u);

    const DamageRegion &self = assigned;
    assigned = self;
    EXPECT_EQ(assigned.rects().size(), 20u);
}

TEST(DamageRegion, MoveTransfersAndEmptiesSource) {
    DamageRegion source = twenty_disjoint_rects();
    const std::vector<Rect> expected = source.rects();

    DamageRegion moved(std::move(source));
    EXPECT_EQ(moved.rects(), expected);
    EXPECT_TRUE(source.empty()); // NOLINT(bugprone-use-after-move): moved-from state is defined
    source.add({1, 1, 2, 2});
    EXPECT_EQ(source.area(), 4u);

    DamageRegion target(Rect{7, 7, 7, 7});
    target = std::move(moved);
    EXPECT_EQ(target.rects(), expected);
    EXPECT_TRUE(moved.empty()); // NOLINT(bugprone-use-after-move)

    // A single-rectangle region keeps no heap data; moving it must keep the rectangle.
    DamageRegion single(Rect{3, 4, 5, 6});
    DamageRegion single_moved(std::move(single));
    EXPECT_EQ(single_moved.rects(), (std::vector<Rect>{{3, 4, 5, 6}}));
}

} // namespace
} // namespace vmcast::frame
