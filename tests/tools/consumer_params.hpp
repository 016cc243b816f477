// SPA parameter building and parsing for vmcast-frame-consumer: the EnumFormat offers, the
// Buffers/Meta answer to a negotiated Format, and parsing of that Format.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <spa/param/video/raw.h>
#include <spa/pod/builder.h>
#include <spa/utils/defs.h>

namespace vmcast_tools {

// DRM format modifiers, defined here so the tool does not need libdrm.
inline constexpr uint64_t kDrmFormatModLinear = 0;
inline constexpr uint64_t kDrmFormatModInvalid = 0x00ffffffffffffffULL;

// Every format the tool accepts is 8-bit with 4 bytes per pixel.
inline constexpr uint32_t kBytesPerPixel = 4;

// Damage slots the consumer asks for; matches the producer recommendation (16 rects).
inline constexpr uint32_t kMaxDamageRects = 16;

// Name ("BGRx") of a supported SPA video format, or nullptr for anything else.
const char *video_format_name(uint32_t spa_format);

// Parses a --format argument: one name, or "any" for BGRx, BGRA, RGBx, RGBA (in that order).
std::optional<std::vector<uint32_t>> parse_format_choice(const std::string &text);

// Name of an SPA data type as printed in JSON ("MemFd", "MemPtr", "DmaBuf").
std::string data_type_name(uint32_t spa_data_type);

// Name of an SPA meta type ("Header", "VideoDamage", ...).
std::string meta_type_name(uint32_t spa_meta_type);

// What the consumer needs to know about the negotiated Format.
struct NegotiatedFormat {
    uint32_t spa_format = SPA_VIDEO_FORMAT_UNKNOWN;
    uint32_t width = 0;
    uint32_t height = 0;
    std::optional<uint64_t> modifier;          // set when the Format carries a modifier
    std::optional<spa_fraction> max_framerate; // set when the Format carries maxFramerate
    std::optional<spa_fraction> framerate;
};

// Parses a Format param. Returns an error message instead when it is not raw video or malformed.
std::optional<NegotiatedFormat> parse_format(const spa_pod *param, std::string &error);

// Appends the EnumFormat params to `params`. With dmabuf_modifiers, a variant carrying them as
// a MANDATORY|DONT_FIXATE modifier Enum comes first, then the memory variant. A max_framerate
// other than 0 adds maxFramerate from 1/1 to max_framerate/1.
void build_enum_formats(spa_pod_builder *builder, std::span<const uint32_t> formats,
                        std::span<const uint64_t> dmabuf_modifiers, uint32_t max_framerate,
                        std::vector<const spa_pod *> &params);

// Appends the Buffers and Meta params that answer a negotiated Format.
void build_buffer_params(spa_pod_builder *builder, const NegotiatedFormat &format,
                         bool want_cursor_meta, std::vector<const spa_pod *> &params);

} // namespace vmcast_tools
