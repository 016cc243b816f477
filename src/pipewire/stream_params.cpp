#include "pipewire/stream_params.h"

#include "pipewire/cursor_meta.h"

#include <spa/buffer/buffer.h>
#include <spa/buffer/meta.h>
#include <spa/param/buffers.h>
#include <spa/param/format-utils.h>
#include <spa/param/param.h>
#include <spa/param/video/format-utils.h>
#include <spa/pod/builder.h>

#include <algorithm>
#include <cstring>
#include <span>

namespace vmcast::pipewire {

const char *format_name(spa_video_format format) {
    switch (format) {
    case SPA_VIDEO_FORMAT_BGRx:
        return "BGRx";
    case SPA_VIDEO_FORMAT_BGRA:
        return "BGRA";
    case SPA_VIDEO_FORMAT_RGBx:
        return "RGBx";
    case SPA_VIDEO_FORMAT_RGBA:
        return "RGBA";
    default:
        return "unsupported";
    }
}

bool parse_stream_format(const spa_pod *format, spa_video_info_raw &info) {
    if (spa_format_video_raw_parse(format, &info) < 0)
        return false;
    uint32_t id = 0;
    memcpy(&id, &info.format, sizeof(id));
    if (std::ranges::none_of(kStreamFormats,
                             [id](spa_video_format f) { return uint32_t(f) == id; })) {
        info.format = SPA_VIDEO_FORMAT_UNKNOWN;
        return false;
    }
    return true;
}

namespace {

// How an EnumFormat carries its modifiers.
enum class ModifierOffer {
    None,        // shared memory: no modifier property at all
    ForFixation, // the renderer's modifiers, for PipeWire's DONT_FIXATE round trip
    Fixed,       // the one modifier a test allocation picked
};

// How an EnumFormat states its frame rate.
enum class RateOffer {
    UpTo,  // variable (0/1), a maxFramerate from 1/1 to fps/1: frames when the screen changes
    Fixed, // fps/1 and nothing else: what a camera consumer needs to run at all
};

const spa_pod *build_enum_format(spa_pod_builder &builder, spa_video_format format, uint32_t width,
                                 uint32_t height, RateOffer rate, uint32_t fps, ModifierOffer offer,
                                 std::span<const uint64_t> modifiers) {
    const spa_rectangle size = SPA_RECTANGLE(width, height);
    const spa_fraction variable_rate = SPA_FRACTION(0, 1);
    const spa_fraction max_rate = SPA_FRACTION(fps, 1);
    const spa_fraction min_rate = SPA_FRACTION(1, 1);
    spa_pod_frame object;
    spa_pod_builder_push_object(&builder, &object, SPA_TYPE_OBJECT_Format, SPA_PARAM_EnumFormat);
    spa_pod_builder_add(&builder, SPA_FORMAT_mediaType, SPA_POD_Id(SPA_MEDIA_TYPE_video),
                        SPA_FORMAT_mediaSubtype, SPA_POD_Id(SPA_MEDIA_SUBTYPE_raw),
                        SPA_FORMAT_VIDEO_format, SPA_POD_Id(format), 0);
    // MANDATORY: only consumers that import DMA-BUFs match these variants.
    if (offer == ModifierOffer::Fixed) {
        spa_pod_builder_prop(&builder, SPA_FORMAT_VIDEO_modifier, SPA_POD_PROP_FLAG_MANDATORY);
        spa_pod_builder_long(&builder, int64_t(modifiers[0]));
    } else if (offer == ModifierOffer::ForFixation) {
        // DONT_FIXATE: PipeWire leaves the choice among the modifiers both sides take to
        // vmcast, which test-allocates them. Always an Enum, even of one modifier, so the
        // Format PipeWire hands back says whether it still needs fixing.
        spa_pod_builder_prop(&builder, SPA_FORMAT_VIDEO_modifier,
                             SPA_POD_PROP_FLAG_MANDATORY | SPA_POD_PROP_FLAG_DONT_FIXATE);
        spa_pod_frame choice;
        spa_pod_builder_push_choice(&builder, &choice, SPA_CHOICE_Enum, 0);
        // An Enum's first value is its default, and a choice among the rest.
        spa_pod_builder_long(&builder, int64_t(modifiers[0]));
        for (uint64_t modifier : modifiers)
            spa_pod_builder_long(&builder, int64_t(modifier));
        spa_pod_builder_pop(&builder, &choice);
    }
    spa_pod_builder_add(&builder, SPA_FORMAT_VIDEO_size, SPA_POD_Rectangle(&size), 0);
    if (rate == RateOffer::Fixed) {
        spa_pod_builder_add(&builder, SPA_FORMAT_VIDEO_framerate, SPA_POD_Fraction(&max_rate), 0);
    } else {
        spa_pod_builder_add(&builder, SPA_FORMAT_VIDEO_framerate, SPA_POD_Fraction(&variable_rate),
                            SPA_FORMAT_VIDEO_maxFramerate,
                            SPA_POD_CHOICE_RANGE_Fraction(&max_rate, &min_rate, &max_rate), 0);
    }
    return static_cast<const spa_pod *>(spa_pod_builder_pop(&builder, &object));
}

} // namespace

std::vector<const spa_pod *> build_enum_formats(spa_pod_builder &builder, uint32_t width,
                                                uint32_t height, uint32_t max_fps,
                                                const DmabufOffer &dmabufs,
                                                const std::optional<DmabufLayout> &fixated) {
    std::vector<const spa_pod *> params;
    if (fixated && fixated->width == width && fixated->height == height) {
        const uint64_t modifier[] = {fixated->modifier};
        params.push_back(build_enum_format(builder, fixated->format, width, height, RateOffer::UpTo,
                                           max_fps, ModifierOffer::Fixed, modifier));
    }
    for (spa_video_format format : kStreamFormats) {
        const std::vector<uint64_t> modifiers = dmabufs.modifiers(format);
        if (!modifiers.empty())
            params.push_back(build_enum_format(builder, format, width, height, RateOffer::UpTo,
                                               max_fps, ModifierOffer::ForFixation, modifiers));
        params.push_back(build_enum_format(builder, format, width, height, RateOffer::UpTo, max_fps,
                                           ModifierOffer::None, {}));
    }
    return params;
}

std::vector<const spa_pod *> build_camera_formats(spa_pod_builder &builder, uint32_t width,
                                                  uint32_t height, uint32_t fps) {
    std::vector<const spa_pod *> params;
    for (spa_video_format format : kCameraFormats)
        params.push_back(build_enum_format(builder, format, width, height, RateOffer::Fixed, fps,
                                           ModifierOffer::None, {}));
    return params;
}

std::optional<std::vector<uint64_t>> modifiers_to_fixate(const spa_pod *format) {
    const spa_pod_prop *prop = spa_pod_find_prop(format, nullptr, SPA_FORMAT_VIDEO_modifier);
    if (!prop || !spa_pod_is_choice(&prop->value))
        return std::nullopt;
    const auto *choice = reinterpret_cast<const spa_pod_choice *>(&prop->value);
    if (SPA_POD_CHOICE_TYPE(choice) == SPA_CHOICE_None)
        return std::nullopt;
    std::vector<uint64_t> candidates;
    // Modifiers come as an Enum (any other choice offers none): its first value is the
    // default, the rest are the candidates.
    if (SPA_POD_CHOICE_TYPE(choice) != SPA_CHOICE_Enum ||
        SPA_POD_CHOICE_VALUE_TYPE(choice) != SPA_TYPE_Long ||
        SPA_POD_CHOICE_VALUE_SIZE(choice) != sizeof(int64_t))
        return candidates;
    const auto *values = static_cast<const int64_t *>(SPA_POD_CHOICE_VALUES(choice));
    for (uint32_t i = 1; i < SPA_POD_CHOICE_N_VALUES(choice); ++i) {
        const auto modifier = uint64_t(values[i]);
        if (std::ranges::find(candidates, modifier) == candidates.end())
            candidates.push_back(modifier);
    }
    return candidates;
}

std::vector<const spa_pod *> build_buffer_params(spa_pod_builder &builder, uint32_t width,
                                                 uint32_t height, BufferKind kind,
                                                 bool cursor_meta) {
    const int32_t stride = int32_t(width) * 4;
    const int32_t size = stride * int32_t(height);
    std::vector<const spa_pod *> params;
    if (kind.dmabuf) {
        // The layout is the allocator's: no size or stride to agree on.
        params.push_back(static_cast<const spa_pod *>(spa_pod_builder_add_object(
            &builder, SPA_TYPE_OBJECT_ParamBuffers, SPA_PARAM_Buffers, SPA_PARAM_BUFFERS_buffers,
            SPA_POD_CHOICE_RANGE_Int(kDefaultBufferCount, kMinBufferCount, 16),
            SPA_PARAM_BUFFERS_blocks, SPA_POD_Int(int32_t(kind.planes)), SPA_PARAM_BUFFERS_dataType,
            SPA_POD_CHOICE_FLAGS_Int(1 << SPA_DATA_DmaBuf))));
    } else {
        params.push_back(static_cast<const spa_pod *>(spa_pod_builder_add_object(
            &builder, SPA_TYPE_OBJECT_ParamBuffers, SPA_PARAM_Buffers, SPA_PARAM_BUFFERS_buffers,
            SPA_POD_CHOICE_RANGE_Int(kDefaultBufferCount, kMinBufferCount, 16),
            SPA_PARAM_BUFFERS_blocks, SPA_POD_Int(1), SPA_PARAM_BUFFERS_size, SPA_POD_Int(size),
            SPA_PARAM_BUFFERS_stride, SPA_POD_Int(stride), SPA_PARAM_BUFFERS_dataType,
            SPA_POD_CHOICE_FLAGS_Int(1 << SPA_DATA_MemFd))));
    }
    params.push_back(static_cast<const spa_pod *>(spa_pod_builder_add_object(
        &builder, SPA_TYPE_OBJECT_ParamMeta, SPA_PARAM_Meta, SPA_PARAM_META_type,
        SPA_POD_Id(SPA_META_Header), SPA_PARAM_META_size, SPA_POD_Int(sizeof(spa_meta_header)))));
    params.push_back(static_cast<const spa_pod *>(
        spa_pod_builder_add_object(&builder, SPA_TYPE_OBJECT_ParamMeta, SPA_PARAM_Meta,
                                   SPA_PARAM_META_type, SPA_POD_Id(SPA_META_VideoCrop),
                                   SPA_PARAM_META_size, SPA_POD_Int(sizeof(spa_meta_region)))));
    params.push_back(static_cast<const spa_pod *>(spa_pod_builder_add_object(
        &builder, SPA_TYPE_OBJECT_ParamMeta, SPA_PARAM_Meta, SPA_PARAM_META_type,
        SPA_POD_Id(SPA_META_VideoDamage), SPA_PARAM_META_size,
        SPA_POD_CHOICE_RANGE_Int(sizeof(spa_meta_region) * kMaxDamageRects, sizeof(spa_meta_region),
                                 sizeof(spa_meta_region) * kMaxDamageRects))));
    if (cursor_meta)
        params.push_back(static_cast<const spa_pod *>(spa_pod_builder_add_object(
            &builder, SPA_TYPE_OBJECT_ParamMeta, SPA_PARAM_Meta, SPA_PARAM_META_type,
            SPA_POD_Id(SPA_META_Cursor), SPA_PARAM_META_size,
            SPA_POD_Int(int32_t(cursor_meta_bytes())))));
    return params;
}

} // namespace vmcast::pipewire
