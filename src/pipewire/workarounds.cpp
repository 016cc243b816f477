#include "pipewire/workarounds.h"

#include <cstdint>
#include <cstring>

#include <spa/param/video/raw.h>
#include <spa/pod/iter.h>

namespace vmcast::pipewire::workaround {
namespace {

// The bytes of one value of the types video formats use; 0 for others (spa_pod_compare_value
// turns the difference of two Floats or Doubles into an int, which can overflow).
uint32_t fixed_value_size(uint32_t type) {
    switch (type) {
    case SPA_TYPE_Bool:
    case SPA_TYPE_Id:
    case SPA_TYPE_Int:
        return 4;
    case SPA_TYPE_Long:
    case SPA_TYPE_Rectangle:
    case SPA_TYPE_Fraction:
        return 8;
    default:
        return 0;
    }
}

// The values spa_pod_filter reads of a choice: the default, then min and max, then the step.
uint32_t values_read(uint32_t choice) {
    switch (choice) {
    case SPA_CHOICE_Range:
        return 3;
    case SPA_CHOICE_Step:
        return 4;
    default:
        return 1;
    }
}

// Whether spa_pod_compare_value can subtract (Int, Long) or cross-multiply (Fraction) the value
// with any other of its type without overflowing.
bool comparable(uint32_t type, const void *value) {
    switch (type) {
    case SPA_TYPE_Int: {
        int32_t number;
        memcpy(&number, value, sizeof(number));
        return number >= INT32_MIN / 2 && number <= INT32_MAX / 2;
    }
    case SPA_TYPE_Long: {
        int64_t number;
        memcpy(&number, value, sizeof(number));
        return number >= INT64_MIN / 2 && number <= INT64_MAX / 2;
    }
    case SPA_TYPE_Fraction: {
        spa_fraction fraction;
        memcpy(&fraction, value, sizeof(fraction));
        return fraction.num <= INT32_MAX && fraction.denom <= INT32_MAX;
    }
    default:
        return true;
    }
}

// Whether spa_pod_filter_is_step_of can divide by a Step choice's step.
bool divisible_by(uint32_t type, const void *step) {
    switch (type) {
    case SPA_TYPE_Int: {
        int32_t number;
        memcpy(&number, step, sizeof(number));
        return number > 0;
    }
    case SPA_TYPE_Long: {
        int64_t number;
        memcpy(&number, step, sizeof(number));
        return number > 0;
    }
    case SPA_TYPE_Rectangle: {
        spa_rectangle rectangle;
        memcpy(&rectangle, step, sizeof(rectangle));
        return rectangle.width > 0 && rectangle.height > 0;
    }
    default:
        return true;
    }
}

} // namespace

void update_formats_paused(pw_stream *stream, std::span<const spa_pod *> formats) {
    pw_stream_set_active(stream, false);
    pw_stream_update_params(stream, formats.data(), uint32_t(formats.size()));
    pw_stream_set_active(stream, true);
}

pw_stream_flags connect_flags(bool vmcast_allocates_buffers) {
    return pw_stream_flags(
        PW_STREAM_FLAG_DRIVER |
        (vmcast_allocates_buffers ? PW_STREAM_FLAG_ALLOC_BUFFERS : PW_STREAM_FLAG_MAP_BUFFERS));
}

bool SmallBuffers::renegotiate(const std::string &node, uint32_t got, uint32_t width,
                               uint32_t height, size_t needed) {
    if (tries_ < kMaxTries) {
        tries_++;
        g_info("%s: PipeWire gave a %u-byte buffer where a %ux%u frame needs %zu bytes; "
               "negotiating again",
               node.c_str(), got, width, height, needed);
        return true;
    }
    if (tries_++ == kMaxTries)
        g_warning("%s: PipeWire keeps giving %u-byte buffers where a %ux%u frame needs %zu "
                  "bytes; consumers get no picture until the size changes",
                  node.c_str(), got, width, height, needed);
    return false;
}

bool suspend_unlinked_node(ParamCacheWarmer &caches, uint32_t node_id) {
    return caches.suspend(node_id);
}

PcmFormat format_audioconvert_takes(const PcmFormat &format) {
    PcmFormat taken = format;
    if (format.kind == SampleKind::Unsigned && format.bits > 8)
        taken.kind = SampleKind::Signed;
    return taken;
}

void convert_for_audioconvert(const PcmFormat &format, std::span<uint8_t> frames) {
    if (format.kind != SampleKind::Unsigned || format.bits == 8)
        return;
    const size_t sample_bytes = format.bits / 8;
    const size_t top = format.big_endian ? 0 : sample_bytes - 1;
    for (size_t i = top; i < frames.size(); i += sample_bytes)
        frames[i] ^= 0x80;
}

bool filter_can_read(const spa_pod *format) {
    if (!spa_pod_is_object(format))
        return false;
    const spa_pod_prop *prop;
    SPA_POD_OBJECT_FOREACH(reinterpret_cast<const spa_pod_object *>(format), prop) {
        const spa_pod *value = &prop->value;
        uint32_t type = value->type;
        uint32_t size = SPA_POD_BODY_SIZE(value);
        uint32_t count = 1;
        const void *values = SPA_POD_BODY_CONST(value);
        if (type == SPA_TYPE_Choice) {
            if (!spa_pod_is_choice(value))
                return false;
            const auto *choice = reinterpret_cast<const spa_pod_choice *>(value);
            type = SPA_POD_CHOICE_VALUE_TYPE(choice);
            size = SPA_POD_CHOICE_VALUE_SIZE(choice);
            count = SPA_POD_CHOICE_N_VALUES(choice);
            values = SPA_POD_CHOICE_VALUES(choice);
            const uint32_t kind = SPA_POD_CHOICE_TYPE(choice);
            if (kind > SPA_CHOICE_Flags || count < values_read(kind))
                return false;
            if (kind == SPA_CHOICE_Step && !divisible_by(type, SPA_PTROFF(values, 3 * size, void)))
                return false;
        }
        if (fixed_value_size(type) == 0 || size != fixed_value_size(type))
            return false;
        for (uint32_t i = 0; i < count; ++i)
            if (!comparable(type, SPA_PTROFF(values, i * size, void)))
                return false;
    }
    return true;
}

} // namespace vmcast::pipewire::workaround
