#include "consumer_params.hpp"

#include <array>
#include <utility>

#include <spa/buffer/buffer.h>
#include <spa/buffer/meta.h>
#include <spa/param/buffers.h>
#include <spa/param/format.h>
#include <spa/param/param.h>
#include <spa/param/video/format-utils.h>
#include <spa/pod/parser.h>

namespace vmcast_tools {

namespace {

constexpr std::array<std::pair<uint32_t, const char *>, 4> kFormats = {{
    {SPA_VIDEO_FORMAT_BGRx, "BGRx"},
    {SPA_VIDEO_FORMAT_BGRA, "BGRA"},
    {SPA_VIDEO_FORMAT_RGBx, "RGBx"},
    {SPA_VIDEO_FORMAT_RGBA, "RGBA"},
}};

// Same layout as CURSOR_META_SIZE in PipeWire's examples: header, bitmap header, RGBA pixels.
constexpr int32_t cursor_meta_size(int32_t width, int32_t height) {
    return static_cast<int32_t>(sizeof(spa_meta_cursor) + sizeof(spa_meta_bitmap)) +
           width * height * 4;
}

const spa_pod *build_one_enum_format(spa_pod_builder *builder, std::span<const uint32_t> formats,
                                     std::span<const uint64_t> modifiers, uint32_t max_framerate) {
    spa_pod_frame object_frame;
    spa_pod_builder_push_object(builder, &object_frame, SPA_TYPE_OBJECT_Format,
                                SPA_PARAM_EnumFormat);
    spa_pod_builder_add(builder, SPA_FORMAT_mediaType, SPA_POD_Id(SPA_MEDIA_TYPE_video),
                        SPA_FORMAT_mediaSubtype, SPA_POD_Id(SPA_MEDIA_SUBTYPE_raw), 0);

    // One format is a plain Id; several become Enum{default, alternatives...} where the first
    // entry is the default, so the first value is written twice.
    spa_pod_builder_prop(builder, SPA_FORMAT_VIDEO_format, 0);
    if (formats.size() == 1) {
        spa_pod_builder_id(builder, formats[0]);
    } else {
        spa_pod_frame choice_frame;
        spa_pod_builder_push_choice(builder, &choice_frame, SPA_CHOICE_Enum, 0);
        spa_pod_builder_id(builder, formats[0]);
        for (uint32_t format : formats)
            spa_pod_builder_id(builder, format);
        spa_pod_builder_pop(builder, &choice_frame);
    }

    if (!modifiers.empty()) {
        // MANDATORY: only match producers that offer a modifier. DONT_FIXATE: let the allocating
        // producer pick the modifier (PipeWire's DMA-BUF negotiation, doc/dma-buf.dox).
        spa_pod_builder_prop(builder, SPA_FORMAT_VIDEO_modifier,
                             SPA_POD_PROP_FLAG_MANDATORY | SPA_POD_PROP_FLAG_DONT_FIXATE);
        spa_pod_frame choice_frame;
        spa_pod_builder_push_choice(builder, &choice_frame, SPA_CHOICE_Enum, 0);
        spa_pod_builder_long(builder, static_cast<int64_t>(modifiers[0]));
        for (uint64_t modifier : modifiers)
            spa_pod_builder_long(builder, static_cast<int64_t>(modifier));
        spa_pod_builder_pop(builder, &choice_frame);
    }

    spa_rectangle default_size = SPA_RECTANGLE(1280, 720);
    spa_rectangle min_size = SPA_RECTANGLE(1, 1);
    spa_rectangle max_size = SPA_RECTANGLE(16384, 16384);
    spa_fraction default_rate = SPA_FRACTION(0, 1);
    spa_fraction min_rate = SPA_FRACTION(0, 1);
    spa_fraction max_rate = SPA_FRACTION(1000, 1);
    spa_pod_builder_add(builder, SPA_FORMAT_VIDEO_size,
                        SPA_POD_CHOICE_RANGE_Rectangle(&default_size, &min_size, &max_size),
                        SPA_FORMAT_VIDEO_framerate,
                        SPA_POD_CHOICE_RANGE_Fraction(&default_rate, &min_rate, &max_rate), 0);
    if (max_framerate > 0) {
        spa_fraction most = SPA_FRACTION(max_framerate, 1);
        spa_fraction least = SPA_FRACTION(1, 1);
        spa_pod_builder_add(builder, SPA_FORMAT_VIDEO_maxFramerate,
                            SPA_POD_CHOICE_RANGE_Fraction(&most, &least, &most), 0);
    }
    return static_cast<const spa_pod *>(spa_pod_builder_pop(builder, &object_frame));
}

const spa_pod *build_meta(spa_pod_builder *builder, uint32_t meta_type, int32_t size) {
    return static_cast<const spa_pod *>(spa_pod_builder_add_object(
        builder, SPA_TYPE_OBJECT_ParamMeta, SPA_PARAM_Meta, SPA_PARAM_META_type,
        SPA_POD_Id(meta_type), SPA_PARAM_META_size, SPA_POD_Int(size)));
}

const spa_pod *build_meta_range(spa_pod_builder *builder, uint32_t meta_type, int32_t def,
                                int32_t min, int32_t max) {
    return static_cast<const spa_pod *>(spa_pod_builder_add_object(
        builder, SPA_TYPE_OBJECT_ParamMeta, SPA_PARAM_Meta, SPA_PARAM_META_type,
        SPA_POD_Id(meta_type), SPA_PARAM_META_size, SPA_POD_CHOICE_RANGE_Int(def, min, max)));
}

} // namespace

const char *video_format_name(uint32_t spa_format) {
    for (const auto &[id, name] : kFormats) {
        if (id == spa_format)
            return name;
    }
    return nullptr;
}

std::optional<std::vector<uint32_t>> parse_format_choice(const std::string &text) {
    std::vector<uint32_t> formats;
    for (const auto &[id, name] : kFormats) {
        if (text == "any" || text == name)
            formats.push_back(id);
    }
    if (formats.empty())
        return std::nullopt;
    return formats;
}

std::string data_type_name(uint32_t spa_data_type) {
    switch (spa_data_type) {
    case SPA_DATA_MemPtr:
        return "MemPtr";
    case SPA_DATA_MemFd:
        return "MemFd";
    case SPA_DATA_DmaBuf:
        return "DmaBuf";
    case SPA_DATA_MemId:
        return "MemId";
    default:
        return "Unknown(" + std::to_string(spa_data_type) + ")";
    }
}

std::string meta_type_name(uint32_t spa_meta_type) {
    switch (spa_meta_type) {
    case SPA_META_Header:
        return "Header";
    case SPA_META_VideoCrop:
        return "VideoCrop";
    case SPA_META_VideoDamage:
        return "VideoDamage";
    case SPA_META_Bitmap:
        return "Bitmap";
    case SPA_META_Cursor:
        return "Cursor";
    case SPA_META_Control:
        return "Control";
    case SPA_META_Busy:
        return "Busy";
    case SPA_META_VideoTransform:
        return "VideoTransform";
    default:
        return "Unknown(" + std::to_string(spa_meta_type) + ")";
    }
}

std::optional<NegotiatedFormat> parse_format(const spa_pod *param, std::string &error) {
    uint32_t media_type = 0;
    uint32_t media_subtype = 0;
    if (spa_format_parse(param, &media_type, &media_subtype) < 0) {
        error = "cannot parse Format media type";
        return std::nullopt;
    }
    if (media_type != SPA_MEDIA_TYPE_video || media_subtype != SPA_MEDIA_SUBTYPE_raw) {
        error = "Format is not video/raw";
        return std::nullopt;
    }
    // Zero first: spa_format_video_raw_parse leaves optional fields untouched when absent, and a
    // zero denominator is how we detect an absent fraction.
    spa_video_info_raw info{};
    if (spa_format_video_raw_parse(param, &info) < 0) {
        error = "cannot parse video/raw Format";
        return std::nullopt;
    }
    NegotiatedFormat format;
    format.spa_format = info.format;
    format.width = info.size.width;
    format.height = info.size.height;
    if (info.flags & SPA_VIDEO_FLAG_MODIFIER)
        format.modifier = info.modifier;
    if (info.max_framerate.denom != 0)
        format.max_framerate = info.max_framerate;
    if (info.framerate.denom != 0)
        format.framerate = info.framerate;
    return format;
}

void build_enum_formats(spa_pod_builder *builder, std::span<const uint32_t> formats,
                        std::span<const uint64_t> dmabuf_modifiers, uint32_t max_framerate,
                        std::vector<const spa_pod *> &params) {
    // PipeWire tries the consumer's EnumFormats in order, so the DMA-BUF variant must come first
    // for the producer to see it as the preferred choice.
    if (!dmabuf_modifiers.empty())
        params.push_back(build_one_enum_format(builder, formats, dmabuf_modifiers, max_framerate));
    params.push_back(build_one_enum_format(builder, formats, {}, max_framerate));
}

void build_buffer_params(spa_pod_builder *builder, const NegotiatedFormat &format,
                         bool want_cursor_meta, std::vector<const spa_pod *> &params) {
    // MemPtr is listed because pw_stream with MAP_BUFFERS hands out mapped pointers either way;
    // DmaBuf only when the negotiated Format has a modifier, as producers expect.
    int32_t data_types = (1 << SPA_DATA_MemFd) | (1 << SPA_DATA_MemPtr);
    if (format.modifier)
        data_types |= (1 << SPA_DATA_DmaBuf);
    params.push_back(static_cast<const spa_pod *>(spa_pod_builder_add_object(
        builder, SPA_TYPE_OBJECT_ParamBuffers, SPA_PARAM_Buffers, SPA_PARAM_BUFFERS_buffers,
        SPA_POD_CHOICE_RANGE_Int(8, 2, 16), SPA_PARAM_BUFFERS_dataType,
        SPA_POD_CHOICE_FLAGS_Int(data_types))));

    params.push_back(build_meta(builder, SPA_META_Header, sizeof(spa_meta_header)));
    constexpr int32_t region_size = sizeof(spa_meta_region);
    params.push_back(build_meta_range(builder, SPA_META_VideoDamage, region_size * kMaxDamageRects,
                                      region_size, region_size * kMaxDamageRects));
    params.push_back(build_meta(builder, SPA_META_VideoCrop, region_size));
    if (want_cursor_meta) {
        // Default 64x64, accept anything up to 384x384: the cursor size every consumer in the
        // reference notes supports. The producer's value wins within this range.
        params.push_back(build_meta_range(builder, SPA_META_Cursor, cursor_meta_size(64, 64),
                                          cursor_meta_size(1, 1), cursor_meta_size(384, 384)));
    }
}

} // namespace vmcast_tools
