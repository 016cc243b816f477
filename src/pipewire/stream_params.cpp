#include "pipewire/stream_params.h"

#include "pipewire/cursor_meta.h"

#include <spa/buffer/buffer.h>
#include <spa/buffer/meta.h>
#include <spa/param/buffers.h>
#include <spa/param/format-utils.h>
#include <spa/param/param.h>
#include <spa/param/video/format-utils.h>
#include <spa/pod/builder.h>

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

namespace {

// modifiers: none for shared memory, else the DMA-BUF modifiers vmcast can allocate.
const spa_pod *build_enum_format(spa_pod_builder &builder, spa_video_format format, uint32_t width,
                                 uint32_t height, uint32_t max_fps,
                                 std::span<const uint64_t> modifiers) {
    const spa_rectangle size = SPA_RECTANGLE(width, height);
    const spa_fraction variable_rate = SPA_FRACTION(0, 1);
    const spa_fraction max_rate = SPA_FRACTION(max_fps, 1);
    const spa_fraction min_rate = SPA_FRACTION(1, 1);
    spa_pod_frame object;
    spa_pod_builder_push_object(&builder, &object, SPA_TYPE_OBJECT_Format, SPA_PARAM_EnumFormat);
    spa_pod_builder_add(&builder, SPA_FORMAT_mediaType, SPA_POD_Id(SPA_MEDIA_TYPE_video),
                        SPA_FORMAT_mediaSubtype, SPA_POD_Id(SPA_MEDIA_SUBTYPE_raw),
                        SPA_FORMAT_VIDEO_format, SPA_POD_Id(format), 0);
    // MANDATORY: only consumers that import DMA-BUFs match this variant. Not DONT_FIXATE: every
    // modifier listed allocates, so PipeWire may fix any of them (see dmabuf_offer.h).
    if (modifiers.size() == 1) {
        spa_pod_builder_prop(&builder, SPA_FORMAT_VIDEO_modifier, SPA_POD_PROP_FLAG_MANDATORY);
        spa_pod_builder_long(&builder, int64_t(modifiers[0]));
    } else if (!modifiers.empty()) {
        spa_pod_builder_prop(&builder, SPA_FORMAT_VIDEO_modifier, SPA_POD_PROP_FLAG_MANDATORY);
        spa_pod_frame choice;
        spa_pod_builder_push_choice(&builder, &choice, SPA_CHOICE_Enum, 0);
        // An Enum's first value is its default, and a choice among the rest.
        spa_pod_builder_long(&builder, int64_t(modifiers[0]));
        for (uint64_t modifier : modifiers)
            spa_pod_builder_long(&builder, int64_t(modifier));
        spa_pod_builder_pop(&builder, &choice);
    }
    spa_pod_builder_add(&builder, SPA_FORMAT_VIDEO_size, SPA_POD_Rectangle(&size),
                        SPA_FORMAT_VIDEO_framerate, SPA_POD_Fraction(&variable_rate),
                        SPA_FORMAT_VIDEO_maxFramerate,
                        SPA_POD_CHOICE_RANGE_Fraction(&max_rate, &min_rate, &max_rate), 0);
    return static_cast<const spa_pod *>(spa_pod_builder_pop(&builder, &object));
}

} // namespace

std::vector<const spa_pod *> build_enum_formats(spa_pod_builder &builder, uint32_t width,
                                                uint32_t height, uint32_t max_fps,
                                                const DmabufOffer &dmabufs) {
    std::vector<const spa_pod *> params;
    for (spa_video_format format : kStreamFormats) {
        const std::vector<uint64_t> modifiers = dmabufs.modifiers(format);
        if (!modifiers.empty())
            params.push_back(build_enum_format(builder, format, width, height, max_fps, modifiers));
        params.push_back(build_enum_format(builder, format, width, height, max_fps, {}));
    }
    return params;
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
