// PipeWire's DMA-BUF negotiation as vmcast takes part in it, on real SPA pods: the stream's
// EnumFormats, a consumer's, and the intersection and fixation PipeWire's link does with them
// (pw_context_find_format, then spa_pod_fixate), which decide whether vmcast must fix the
// modifier by a test allocation.
#include <optional>
#include <vector>

#include <gtest/gtest.h>
#include <spa/param/format.h>
#include <spa/param/video/format-utils.h>
#include <spa/pod/builder.h>
// PipeWire 0.3.65's filter.h has unused parameters, which -Werror would refuse.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-parameter"
#include <spa/pod/filter.h>
#pragma GCC diagnostic pop

#include "pipewire/dmabuf_offer.h"
#include "pipewire/stream_params.h"
#include "spa_test_pods.h"

namespace {

using vmcast::pipewire::DmabufLayout;
using vmcast::pipewire::modifiers_to_fixate;
using vmcast_test::consumer_format;
using vmcast_test::kLinear;
using vmcast_test::kXTiled;

constexpr uint64_t kInvalid = 0xffffffffffffff; // DRM_FORMAT_MOD_INVALID: implicit layout
constexpr uint32_t kDontFixate = SPA_POD_PROP_FLAG_MANDATORY | SPA_POD_PROP_FLAG_DONT_FIXATE;

class DmabufNegotiationTest : public ::testing::Test {
  protected:
    std::vector<const spa_pod *> offers(const std::optional<DmabufLayout> &fixated = {}) {
        return vmcast::pipewire::build_enum_formats(offer_builder_, 64, 48, 60, dmabufs_, fixated);
    }

    // The Format PipeWire sets on both ports of a new link: the first of the consumer's
    // formats, in its order, that intersects one of the producer's, in its order; fixed except
    // where both sides flagged a property DONT_FIXATE.
    const spa_pod *negotiate(const std::vector<const spa_pod *> &producer,
                             const std::vector<const spa_pod *> &consumer) {
        for (const spa_pod *wanted : consumer) {
            for (const spa_pod *offer : producer) {
                spa_pod *common = nullptr;
                if (spa_pod_filter(&result_builder_, &common, offer, wanted) < 0)
                    continue;
                spa_pod_fixate(common);
                return common;
            }
        }
        return nullptr;
    }

    static const spa_pod_prop *modifier_of(const spa_pod *format) {
        return spa_pod_find_prop(format, nullptr, SPA_FORMAT_VIDEO_modifier);
    }

    vmcast_test::FakeAllocator allocator_{{kXTiled, kLinear}, {kLinear}};
    vmcast::pipewire::DmabufOffer dmabufs_{&allocator_};
    alignas(8) uint8_t offer_memory_[16384];
    // What SPA_POD_BUILDER_INIT sets, without its compound literal, which clang refuses in a
    // member's initializer.
    spa_pod_builder offer_builder_{offer_memory_, sizeof(offer_memory_), 0, {}, {}};
    alignas(8) uint8_t consumer_memory_[8192];
    spa_pod_builder consumer_builder_{consumer_memory_, sizeof(consumer_memory_), 0, {}, {}};
    alignas(8) uint8_t result_memory_[8192];
    spa_pod_builder result_builder_{result_memory_, sizeof(result_memory_), 0, {}, {}};
};

TEST_F(DmabufNegotiationTest, EachFormatOffersEveryRenderableModifierForFixationThenSharedMemory) {
    const std::vector<const spa_pod *> all = offers();
    ASSERT_EQ(all.size(), 8u);
    for (size_t i = 0; i < all.size(); i += 2) {
        const spa_pod_prop *modifier = modifier_of(all[i]);
        ASSERT_NE(modifier, nullptr) << "offer " << i;
        EXPECT_EQ(modifier->flags, kDontFixate);
        EXPECT_EQ(modifiers_to_fixate(all[i]), (std::vector<uint64_t>{kXTiled, kLinear}));
        EXPECT_EQ(modifiers_to_fixate(all[i + 1]), std::nullopt);
        EXPECT_EQ(modifier_of(all[i + 1]), nullptr) << "offer " << i + 1;
    }
    spa_video_info_raw first{};
    ASSERT_GE(spa_format_video_raw_parse(all[0], &first), 0);
    EXPECT_EQ(first.format, SPA_VIDEO_FORMAT_BGRx);
    // Offering allocates nothing: only a consumer's candidates are test-allocated.
    EXPECT_TRUE(allocator_.requests.empty());
}

TEST_F(DmabufNegotiationTest, PipeWireLeavesTheModifiersBothSidesTakeToVmcast) {
    const std::vector<const spa_pod *> consumer = {
        consumer_format(consumer_builder_, SPA_VIDEO_FORMAT_BGRx, {kInvalid, kLinear}, kDontFixate),
        consumer_format(consumer_builder_, SPA_VIDEO_FORMAT_BGRx)};
    const spa_pod *format = negotiate(offers(), consumer);
    ASSERT_NE(format, nullptr);
    EXPECT_EQ(spa_pod_is_fixated(format), 0);
    EXPECT_EQ(modifiers_to_fixate(format), std::vector<uint64_t>{kLinear});
}

TEST_F(DmabufNegotiationTest, AConsumerThatDoesNotFlagDontFixateGetsAModifierFixedByPipeWire) {
    const std::vector<const spa_pod *> consumer = {
        consumer_format(consumer_builder_, SPA_VIDEO_FORMAT_BGRx, {kXTiled, kLinear})};
    const spa_pod *format = negotiate(offers(), consumer);
    ASSERT_NE(format, nullptr);
    EXPECT_EQ(spa_pod_is_fixated(format), 1);
    EXPECT_EQ(modifiers_to_fixate(format), std::nullopt);
    ASSERT_NE(modifier_of(format), nullptr);
}

TEST_F(DmabufNegotiationTest, ASharedMemoryFormatHasNothingToFixate) {
    const std::vector<const spa_pod *> consumer = {
        consumer_format(consumer_builder_, SPA_VIDEO_FORMAT_BGRx)};
    const spa_pod *format = negotiate(offers(), consumer);
    ASSERT_NE(format, nullptr);
    EXPECT_EQ(modifier_of(format), nullptr);
    EXPECT_EQ(modifiers_to_fixate(format), std::nullopt);
}

TEST_F(DmabufNegotiationTest, FixationTestAllocatesTheCandidatesAndKeepsTheAllocatorsChoice) {
    const std::vector<uint64_t> candidates = {kXTiled, kLinear};
    const std::optional<DmabufLayout> layout =
        dmabufs_.fixate(SPA_VIDEO_FORMAT_BGRx, candidates, 64, 48);
    ASSERT_TRUE(layout);
    EXPECT_EQ(layout->format, SPA_VIDEO_FORMAT_BGRx);
    EXPECT_EQ(layout->modifier, kLinear);
    EXPECT_EQ(layout->width, 64u);
    EXPECT_EQ(layout->height, 48u);
    EXPECT_EQ(layout->planes, 1u);
    ASSERT_EQ(allocator_.requests.size(), 1u);
    EXPECT_EQ(allocator_.requests[0], candidates);
    // X-tiled was a candidate the allocator passed over, not one that failed: still offered.
    EXPECT_EQ(dmabufs_.modifiers(SPA_VIDEO_FORMAT_BGRx), candidates);
}

TEST_F(DmabufNegotiationTest, CandidatesThatFailAreDroppedAndThoseNotOfferedIgnored) {
    // INVALID is not renderable here, so only X-tiled is tried, and it does not allocate.
    const std::vector<uint64_t> candidates = {kInvalid, kXTiled};
    EXPECT_FALSE(dmabufs_.fixate(SPA_VIDEO_FORMAT_BGRx, candidates, 64, 48));
    ASSERT_EQ(allocator_.requests.size(), 1u);
    EXPECT_EQ(allocator_.requests[0], std::vector<uint64_t>{kXTiled});
    EXPECT_EQ(dmabufs_.modifiers(SPA_VIDEO_FORMAT_BGRx), std::vector<uint64_t>{kLinear});
    // Dropped for that pixel format only.
    EXPECT_EQ(dmabufs_.modifiers(SPA_VIDEO_FORMAT_RGBA), (std::vector<uint64_t>{kXTiled, kLinear}));
    // Nothing offered among the candidates: nothing to allocate.
    const std::vector<uint64_t> not_offered = {kInvalid};
    EXPECT_FALSE(dmabufs_.fixate(SPA_VIDEO_FORMAT_RGBA, not_offered, 64, 48));
    EXPECT_EQ(allocator_.requests.size(), 1u);
}

TEST_F(DmabufNegotiationTest, TheFixedLayoutGoesFirstAndTheNextNegotiationAgreesOnIt) {
    const std::vector<const spa_pod *> consumer = {
        consumer_format(consumer_builder_, SPA_VIDEO_FORMAT_BGRx, {kInvalid, kLinear}, kDontFixate),
        consumer_format(consumer_builder_, SPA_VIDEO_FORMAT_BGRx)};
    const DmabufLayout fixed{SPA_VIDEO_FORMAT_BGRx, kLinear, 64, 48, 1};
    const std::vector<const spa_pod *> all = offers(fixed);
    ASSERT_EQ(all.size(), 9u);
    const spa_pod_prop *modifier = modifier_of(all[0]);
    ASSERT_NE(modifier, nullptr);
    EXPECT_EQ(modifier->flags, SPA_POD_PROP_FLAG_MANDATORY);
    EXPECT_EQ(modifiers_to_fixate(all[0]), std::nullopt);

    const spa_pod *format = negotiate(all, consumer);
    ASSERT_NE(format, nullptr);
    EXPECT_EQ(spa_pod_is_fixated(format), 1);
    spa_video_info_raw info{};
    ASSERT_GE(spa_format_video_raw_parse(format, &info), 0);
    EXPECT_EQ(info.format, SPA_VIDEO_FORMAT_BGRx);
    EXPECT_EQ(info.modifier, kLinear);
}

TEST_F(DmabufNegotiationTest, AFixedLayoutOfAnotherSizeIsNotOffered) {
    EXPECT_EQ(offers(DmabufLayout{SPA_VIDEO_FORMAT_BGRx, kLinear, 80, 40, 1}).size(), 8u);
}

TEST_F(DmabufNegotiationTest, AConsumerPreferringAnotherPixelFormatIsOfferedItsOwnFixation) {
    // PipeWire walks the consumer's formats first: a fixed BGRx layout does not stop an
    // RGBA-first consumer from getting RGBA with its modifier left open.
    const std::vector<const spa_pod *> consumer = {
        consumer_format(consumer_builder_, SPA_VIDEO_FORMAT_RGBA, {kLinear}, kDontFixate)};
    const spa_pod *format =
        negotiate(offers(DmabufLayout{SPA_VIDEO_FORMAT_BGRx, kLinear, 64, 48, 1}), consumer);
    ASSERT_NE(format, nullptr);
    spa_video_info_raw info{};
    ASSERT_GE(spa_format_video_raw_parse(format, &info), 0);
    EXPECT_EQ(info.format, SPA_VIDEO_FORMAT_RGBA);
    EXPECT_EQ(modifiers_to_fixate(format), std::vector<uint64_t>{kLinear});
}

} // namespace
