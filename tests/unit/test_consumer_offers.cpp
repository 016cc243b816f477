// Which formats a stream offers when several consumers share it, against real SPA pods: the
// stream's own EnumFormats and consumer formats built the way pw_stream consumers build them.
#include <cstring>
#include <optional>
#include <vector>

#include <gtest/gtest.h>
#include <spa/param/format.h>
#include <spa/param/video/format-utils.h>
#include <spa/pod/builder.h>

#include "pipewire/consumer_offers.h"
#include "pipewire/dmabuf_offer.h"
#include "pipewire/stream_params.h"
#include "spa_test_pods.h"

namespace {

using vmcast::pipewire::ConsumerFormats;
using vmcast::pipewire::OfferSelection;
using vmcast_test::consumer_format;
using vmcast_test::kLinear;

class ConsumerOffersTest : public ::testing::Test {
  protected:
    void SetUp() override {
        offers_ = vmcast::pipewire::build_enum_formats(offer_builder_, 64, 48, 60, dmabufs_,
                                                       std::nullopt);
        // BGRx, BGRA, RGBx, RGBA: each as LINEAR DMA-BUFs, then as shared memory.
        ASSERT_EQ(offers_.size(), 8u);
    }

    // Which offers are DMA-BUF ones, by index.
    std::vector<bool> dmabuf_offers() const {
        std::vector<bool> dmabuf;
        for (const spa_pod *offer : offers_)
            dmabuf.push_back(vmcast::pipewire::offers_dmabufs({offer}));
        return dmabuf;
    }

    vmcast_test::FakeAllocator allocator_{{kLinear}, {kLinear}};
    vmcast::pipewire::DmabufOffer dmabufs_{&allocator_};
    alignas(8) uint8_t offer_memory_[16384];
    // What SPA_POD_BUILDER_INIT sets, without its compound literal, which clang refuses in a
    // member's initializer.
    spa_pod_builder offer_builder_{offer_memory_, sizeof(offer_memory_), 0, {}, {}};
    std::vector<const spa_pod *> offers_;
    alignas(8) uint8_t consumer_memory_[8192];
    spa_pod_builder consumer_builder_{consumer_memory_, sizeof(consumer_memory_), 0, {}, {}};
};

TEST_F(ConsumerOffersTest, ASharedMemoryConsumerTakesNoDmabufOffer) {
    const ConsumerFormats shm = {consumer_format(consumer_builder_, SPA_VIDEO_FORMAT_BGRx)};
    EXPECT_FALSE(vmcast::pipewire::consumer_takes(shm, offers_[0])); // BGRx LINEAR
    EXPECT_TRUE(vmcast::pipewire::consumer_takes(shm, offers_[1]));  // BGRx shared memory
    EXPECT_FALSE(vmcast::pipewire::consumer_takes(shm, offers_[3])); // BGRA shared memory
}

TEST_F(ConsumerOffersTest, ADmabufConsumerTakesItsModifiersAndSharedMemory) {
    const ConsumerFormats gpu = {
        consumer_format(consumer_builder_, SPA_VIDEO_FORMAT_BGRx, {kLinear}),
        consumer_format(consumer_builder_, SPA_VIDEO_FORMAT_BGRx)};
    const ConsumerFormats tiled_only = {
        consumer_format(consumer_builder_, SPA_VIDEO_FORMAT_BGRx, {0x100000000000001})};
    EXPECT_TRUE(vmcast::pipewire::consumer_takes(gpu, offers_[0]));
    EXPECT_TRUE(vmcast::pipewire::consumer_takes(gpu, offers_[1]));
    EXPECT_FALSE(vmcast::pipewire::consumer_takes(tiled_only, offers_[0]));
}

TEST_F(ConsumerOffersTest, OffersAreWhatEveryConsumerTakes) {
    const ConsumerFormats any_format_shm = {
        consumer_format(consumer_builder_, SPA_VIDEO_FORMAT_BGRx),
        consumer_format(consumer_builder_, SPA_VIDEO_FORMAT_RGBA)};
    const ConsumerFormats gpu = {
        consumer_format(consumer_builder_, SPA_VIDEO_FORMAT_BGRx, {kLinear}),
        consumer_format(consumer_builder_, SPA_VIDEO_FORMAT_BGRx)};
    const std::vector<bool> taken =
        vmcast::pipewire::offers_every_consumer_takes(offers_, {any_format_shm, gpu});
    EXPECT_EQ(taken, (std::vector<bool>{false, true, false, false, false, false, false, false}));
    // No consumers: everything.
    EXPECT_EQ(vmcast::pipewire::offers_every_consumer_takes(offers_, {}),
              std::vector<bool>(8, true));
}

TEST_F(ConsumerOffersTest, ConsumersThatWantDifferentThingsGetEveryOffer) {
    const ConsumerFormats bgra = {consumer_format(consumer_builder_, SPA_VIDEO_FORMAT_BGRA)};
    const ConsumerFormats rgbx = {consumer_format(consumer_builder_, SPA_VIDEO_FORMAT_RGBx)};
    EXPECT_EQ(vmcast::pipewire::offers_every_consumer_takes(offers_, {bgra, rgbx}),
              std::vector<bool>(8, true));
}

TEST_F(ConsumerOffersTest, AJoinerThatRefusesTheRunningFormatCallsForNewOffers) {
    const ConsumerFormats gpu = {
        consumer_format(consumer_builder_, SPA_VIDEO_FORMAT_BGRx, {kLinear}),
        consumer_format(consumer_builder_, SPA_VIDEO_FORMAT_BGRx)};
    const ConsumerFormats shm = {consumer_format(consumer_builder_, SPA_VIDEO_FORMAT_BGRx)};
    OfferSelection selection;
    EXPECT_EQ(selection.choose(offers_, {}).size(), 8u);
    selection.set_running_format(offers_[0]); // stands in for the fixed BGRx LINEAR format

    // The first consumer takes what runs: fewer offers would suit it, yet nothing changes.
    EXPECT_FALSE(selection.must_choose_again(offers_, {gpu}));
    // A shared-memory consumer joins: the DMA-BUF format must go.
    ASSERT_TRUE(selection.must_choose_again(offers_, {gpu, shm}));
    const std::vector<const spa_pod *> chosen = selection.choose(offers_, {gpu, shm});
    ASSERT_EQ(chosen.size(), 1u);
    EXPECT_EQ(chosen[0], offers_[1]);
    EXPECT_FALSE(vmcast::pipewire::offers_dmabufs(chosen));
    selection.set_running_format(offers_[1]);
    EXPECT_FALSE(selection.must_choose_again(offers_, {gpu, shm}));

    // It leaves: the DMA-BUF offers come back for the consumer that takes them.
    EXPECT_TRUE(selection.must_choose_again(offers_, {gpu}));
    EXPECT_EQ(selection.choose(offers_, {gpu}).size(), 2u);
    EXPECT_FALSE(selection.must_choose_again(offers_, {gpu}));
}

TEST_F(ConsumerOffersTest, ANegotiatedModifierWithoutItsMandatoryFlagIsStillADmabufFormat) {
    // A negotiated format keeps only the flags both sides set: from a consumer that did not
    // mark its modifiers MANDATORY, the modifier comes without the flag.
    const spa_rectangle size{64, 48};
    const spa_fraction rate{0, 1};
    spa_pod_frame object;
    spa_pod_builder_push_object(&consumer_builder_, &object, SPA_TYPE_OBJECT_Format,
                                SPA_PARAM_Format);
    spa_pod_builder_add(&consumer_builder_, SPA_FORMAT_mediaType, SPA_POD_Id(SPA_MEDIA_TYPE_video),
                        SPA_FORMAT_mediaSubtype, SPA_POD_Id(SPA_MEDIA_SUBTYPE_raw),
                        SPA_FORMAT_VIDEO_format, SPA_POD_Id(SPA_VIDEO_FORMAT_BGRx),
                        SPA_FORMAT_VIDEO_modifier, SPA_POD_Long(int64_t(kLinear)),
                        SPA_FORMAT_VIDEO_size, SPA_POD_Rectangle(&size), SPA_FORMAT_VIDEO_framerate,
                        SPA_POD_Fraction(&rate), 0);
    const auto *running =
        static_cast<const spa_pod *>(spa_pod_builder_pop(&consumer_builder_, &object));
    const spa_pod_prop *modifier = spa_pod_find_prop(running, nullptr, SPA_FORMAT_VIDEO_modifier);
    ASSERT_NE(modifier, nullptr);
    ASSERT_EQ(modifier->flags & SPA_POD_PROP_FLAG_MANDATORY, 0u);

    const ConsumerFormats gpu = {
        consumer_format(consumer_builder_, SPA_VIDEO_FORMAT_BGRx, {kLinear}),
        consumer_format(consumer_builder_, SPA_VIDEO_FORMAT_BGRx)};
    const ConsumerFormats shm = {consumer_format(consumer_builder_, SPA_VIDEO_FORMAT_BGRx)};
    OfferSelection selection;
    selection.choose(offers_, {});
    selection.set_running_format(running);
    EXPECT_TRUE(selection.must_choose_again(offers_, {gpu, shm}));
}

TEST_F(ConsumerOffersTest, OffersOfAnotherSizeWaitForTheirOwnAnnouncement) {
    OfferSelection selection;
    selection.choose(offers_, {});
    const std::vector<const spa_pod *> fewer(offers_.begin(), offers_.begin() + 4);
    const ConsumerFormats shm = {consumer_format(consumer_builder_, SPA_VIDEO_FORMAT_BGRx)};
    selection.set_running_format(offers_[0]);
    EXPECT_FALSE(selection.must_choose_again(fewer, {shm}));
}

// A consumer announces whatever bytes it likes (workaround 9): a size Range holding its default
// alone. The bytes after the pod, never part of it, would make a range taking any size; read
// as the missing minimum and maximum, the consumer would seem to take 64x48.
TEST_F(ConsumerOffersTest, AFormatWithTooFewValuesTakesNothing) {
    alignas(8) uint8_t memory[1024] = {};
    spa_pod_builder builder = SPA_POD_BUILDER_INIT(memory, sizeof(memory));
    spa_pod_frame object, choice;
    spa_pod_builder_push_object(&builder, &object, SPA_TYPE_OBJECT_Format, SPA_PARAM_EnumFormat);
    spa_pod_builder_add(&builder, SPA_FORMAT_mediaType, SPA_POD_Id(SPA_MEDIA_TYPE_video),
                        SPA_FORMAT_mediaSubtype, SPA_POD_Id(SPA_MEDIA_SUBTYPE_raw),
                        SPA_FORMAT_VIDEO_format, SPA_POD_Id(SPA_VIDEO_FORMAT_BGRx), 0);
    spa_pod_builder_prop(&builder, SPA_FORMAT_VIDEO_size, 0);
    spa_pod_builder_push_choice(&builder, &choice, SPA_CHOICE_Range, 0);
    spa_pod_builder_rectangle(&builder, 64, 48);
    spa_pod_builder_pop(&builder, &choice);
    const auto *format = static_cast<const spa_pod *>(spa_pod_builder_pop(&builder, &object));
    const spa_rectangle beyond[] = {{1, 1}, {8192, 8192}};
    memcpy(memory + builder.state.offset, beyond, sizeof(beyond));
    EXPECT_FALSE(vmcast::pipewire::consumer_takes({format}, offers_[1])); // BGRx shared memory
    // The same consumer with a whole range takes it.
    const ConsumerFormats whole = {consumer_format(consumer_builder_, SPA_VIDEO_FORMAT_BGRx)};
    EXPECT_TRUE(vmcast::pipewire::consumer_takes(whole, offers_[1]));
}

// A size Step whose step is 0x0 (workaround 9): PipeWire's filter would divide by it.
TEST_F(ConsumerOffersTest, AFormatWithAZeroStepTakesNothing) {
    alignas(8) uint8_t memory[1024] = {};
    spa_pod_builder builder = SPA_POD_BUILDER_INIT(memory, sizeof(memory));
    const spa_rectangle sizes[] = {{64, 48}, {1, 1}, {8192, 8192}, {0, 0}};
    const auto *format = static_cast<const spa_pod *>(spa_pod_builder_add_object(
        &builder, SPA_TYPE_OBJECT_Format, SPA_PARAM_EnumFormat, SPA_FORMAT_mediaType,
        SPA_POD_Id(SPA_MEDIA_TYPE_video), SPA_FORMAT_mediaSubtype,
        SPA_POD_Id(SPA_MEDIA_SUBTYPE_raw), SPA_FORMAT_VIDEO_format,
        SPA_POD_Id(SPA_VIDEO_FORMAT_BGRx), SPA_FORMAT_VIDEO_size,
        SPA_POD_CHOICE_STEP_Rectangle(&sizes[0], &sizes[1], &sizes[2], &sizes[3])));
    EXPECT_FALSE(vmcast::pipewire::consumer_takes({format}, offers_[1]));
}

} // namespace
