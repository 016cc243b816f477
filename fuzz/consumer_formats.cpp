// The format parameters PipeWire hands vmcast from its consumers: the EnumFormat lists their input
// ports announce (read by ConsumerPort) and the Format a link fixes (a console stream's, a camera
// stream's and a node reader's param_changed). Each pod is either raw bytes, checked only the way
// PipeWire's protocol parser checks a pod it passes on, or built from the input with
// spa_pod_builder (formats, sizes, rates, modifiers, every choice type with odd value counts).
// They go through the offer choice, the DMA-BUF modifier negotiation and the Format parsing.
#include <cstdint>
#include <cstring>
#include <optional>
#include <vector>

#include <spa/param/format.h>
#include <spa/param/video/format-utils.h>
#include <spa/pod/builder.h>

#include "input_reader.h"
#include "pipewire/consumer_offers.h"
#include "pipewire/dmabuf_offer.h"
#include "pipewire/owned_pod.h"
#include "pipewire/stream_params.h"
#include "spa_test_pods.h"

namespace {

using vmcast::pipewire::ConsumerFormats;
using vmcast_fuzz::InputReader;

// Values a real consumer uses, so the fuzzer meets vmcast's own offers often; a selector byte of
// 0x80 or more takes a value from the input instead.
constexpr uint32_t kKeys[] = {SPA_FORMAT_mediaType,         SPA_FORMAT_mediaSubtype,
                              SPA_FORMAT_VIDEO_format,      SPA_FORMAT_VIDEO_modifier,
                              SPA_FORMAT_VIDEO_size,        SPA_FORMAT_VIDEO_framerate,
                              SPA_FORMAT_VIDEO_maxFramerate};
constexpr uint32_t kIds[] = {SPA_MEDIA_TYPE_video,  SPA_MEDIA_SUBTYPE_raw, SPA_VIDEO_FORMAT_BGRx,
                             SPA_VIDEO_FORMAT_BGRA, SPA_VIDEO_FORMAT_RGBx, SPA_VIDEO_FORMAT_RGBA};
constexpr uint64_t kModifiers[] = {vmcast_test::kLinear, vmcast_test::kXTiled,
                                   0x00ffffffffffffff /* DRM_FORMAT_MOD_INVALID */};
constexpr uint32_t kTypes[] = {SPA_TYPE_Id,        SPA_TYPE_Int,      SPA_TYPE_Long,
                               SPA_TYPE_Rectangle, SPA_TYPE_Fraction, SPA_TYPE_Bool};

template <typename T, size_t N> T usual_or_any(InputReader &input, const T (&values)[N]) {
    const uint8_t selector = input.byte();
    if (selector < 0x80)
        return values[selector % N];
    return sizeof(T) == 8 ? T(input.u64()) : T(input.u32());
}

void add_value(InputReader &input, spa_pod_builder &builder, uint32_t type) {
    switch (type) {
    case SPA_TYPE_Id:
        spa_pod_builder_id(&builder, usual_or_any(input, kIds));
        break;
    case SPA_TYPE_Long:
        spa_pod_builder_long(&builder, int64_t(usual_or_any(input, kModifiers)));
        break;
    case SPA_TYPE_Rectangle: {
        const uint32_t width = input.u32();
        spa_pod_builder_rectangle(&builder, width, input.u32());
        break;
    }
    case SPA_TYPE_Fraction: {
        const uint32_t num = input.u32();
        spa_pod_builder_fraction(&builder, num, input.u32());
        break;
    }
    case SPA_TYPE_Bool:
        spa_pod_builder_bool(&builder, input.byte() & 1);
        break;
    default:
        spa_pod_builder_int(&builder, int32_t(input.u32()));
        break;
    }
}

// One property: key, flags, value type, then a plain value (form 0) or a choice of type form - 1
// (None, Range, Step, Enum, Flags, or unknown ones) of any number of values.
void add_property(InputReader &input, spa_pod_builder &builder) {
    const uint32_t key = usual_or_any(input, kKeys);
    spa_pod_builder_prop(&builder, key, input.byte() & 0x1f);
    const uint32_t type = input.pick(kTypes);
    const uint8_t form = input.byte() % 8;
    if (form == 0) {
        add_value(input, builder, type);
        return;
    }
    spa_pod_frame choice;
    spa_pod_builder_push_choice(&builder, &choice, form - 1, 0);
    for (uint8_t count = input.byte() % 9; count > 0; --count)
        add_value(input, builder, type);
    spa_pod_builder_pop(&builder, &choice);
}

// Raw bytes pass when PipeWire's parser would pass them on: a whole pod header and a body
// within the message. Copied to 8-byte alignment, as the parser requires.
const spa_pod *raw_pod(InputReader &input, std::vector<std::vector<uint64_t>> &storage) {
    const std::span<const uint8_t> bytes = input.bytes(input.u16() % 1025);
    if (bytes.size() < sizeof(spa_pod))
        return nullptr;
    std::vector<uint64_t> &aligned = storage.emplace_back((bytes.size() + 7) / 8);
    memcpy(aligned.data(), bytes.data(), bytes.size());
    const auto *pod = reinterpret_cast<const spa_pod *>(aligned.data());
    return SPA_POD_SIZE(pod) <= bytes.size() ? pod : nullptr;
}

// A kind byte with its low two bits 0 for raw bytes; else a Format object of n properties.
const spa_pod *fuzzed_pod(InputReader &input, spa_pod_builder &builder,
                          std::vector<std::vector<uint64_t>> &storage, uint32_t param_id) {
    if ((input.byte() & 3) == 0)
        return raw_pod(input, storage);
    spa_pod_frame object;
    spa_pod_builder_push_object(&builder, &object, SPA_TYPE_OBJECT_Format, param_id);
    for (uint8_t properties = input.byte() % 9; properties > 0; --properties)
        add_property(input, builder);
    auto *pod = static_cast<const spa_pod *>(spa_pod_builder_pop(&builder, &object));
    // A full builder leaves a pod whose body it could not write.
    return builder.state.offset <= builder.size ? pod : nullptr;
}

// What ConsoleStream does with a Format a link fixed (CameraStream and NodeReader only parse it).
void negotiate(const spa_pod *format, vmcast::pipewire::DmabufOffer &dmabufs, uint32_t width,
               uint32_t height) {
    spa_video_info_raw info{};
    if (!vmcast::pipewire::parse_stream_format(format, info) ||
        !(info.flags & SPA_VIDEO_FLAG_MODIFIER))
        return;
    if (std::optional<std::vector<uint64_t>> candidates =
            vmcast::pipewire::modifiers_to_fixate(format)) {
        dmabufs.fixate(info.format, *candidates, width, height);
        return;
    }
    const uint64_t only[] = {info.modifier};
    if (std::optional<vmcast::pipewire::DmabufLayout> layout =
            dmabufs.fixate(info.format, only, width, height))
        dmabufs.allocate(*layout);
}

std::vector<uint64_t> modifier_list(InputReader &input) {
    std::vector<uint64_t> modifiers;
    for (uint8_t count = input.byte() % 4; count > 0; --count)
        modifiers.push_back(usual_or_any(input, kModifiers));
    return modifiers;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    InputReader input(data, size);
    // vmcast's side: what the renderer renders into and what allocates, and the picture's size.
    const std::vector<uint64_t> renderable = modifier_list(input);
    vmcast_test::FakeAllocator allocator(renderable, modifier_list(input));
    vmcast::pipewire::DmabufOffer dmabufs((input.byte() & 1) ? &allocator : nullptr);
    const uint32_t width = input.u16() % 8193;
    const uint32_t height = input.u16() % 8193;
    const uint32_t fps = 1 + input.byte() % 240;
    std::optional<vmcast::pipewire::DmabufLayout> fixated;
    if (input.byte() & 1)
        fixated = vmcast::pipewire::DmabufLayout{SPA_VIDEO_FORMAT_BGRx,
                                                 usual_or_any(input, kModifiers), width, height, 1};

    alignas(8) uint8_t offer_memory[16384];
    spa_pod_builder offer_builder = SPA_POD_BUILDER_INIT(offer_memory, sizeof(offer_memory));
    const std::vector<const spa_pod *> offers =
        vmcast::pipewire::build_enum_formats(offer_builder, width, height, fps, dmabufs, fixated);
    const std::vector<const spa_pod *> camera_offers =
        vmcast::pipewire::build_camera_formats(offer_builder, width, height, fps);

    // The consumers' EnumFormat lists, kept the way ConsumerPort keeps them: Format objects only.
    alignas(8) uint8_t consumer_memory[32768];
    spa_pod_builder builder = SPA_POD_BUILDER_INIT(consumer_memory, sizeof(consumer_memory));
    std::vector<std::vector<uint64_t>> raw_storage;
    // Copies of exactly the size each pod claims, as ConsumerPort keeps them: ASan sees a read
    // past the claimed end.
    std::vector<vmcast::pipewire::OwnedPod> kept;
    std::vector<ConsumerFormats> consumers(input.byte() % 4);
    for (ConsumerFormats &consumer : consumers) {
        for (uint8_t count = input.byte() % 5; count > 0; --count) {
            const spa_pod *pod = fuzzed_pod(input, builder, raw_storage, SPA_PARAM_EnumFormat);
            if (pod && spa_pod_is_object_type(pod, SPA_TYPE_OBJECT_Format))
                consumer.push_back(kept.emplace_back(vmcast::pipewire::copy_pod(pod)).get());
        }
    }

    vmcast::pipewire::OfferSelection selection;
    selection.choose(offers, consumers);
    vmcast::pipewire::offers_every_consumer_takes(camera_offers, consumers);
    vmcast::pipewire::offers_dmabufs(offers);
    // The Format the link fixed; then a consumer may leave.
    if (const spa_pod *fixed = fuzzed_pod(input, builder, raw_storage, SPA_PARAM_Format)) {
        const vmcast::pipewire::OwnedPod format = vmcast::pipewire::copy_pod(fixed);
        negotiate(format.get(), dmabufs, width, height);
        selection.set_running_format(format.get());
    }
    std::vector<ConsumerFormats> remaining = consumers;
    if (!remaining.empty() && (input.byte() & 1))
        remaining.pop_back();
    selection.must_choose_again(offers, remaining);
    return 0;
}
