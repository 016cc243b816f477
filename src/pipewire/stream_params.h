// The SPA parameters a console stream announces: formats it can produce, and the buffers and
// metadata it fills once a format is chosen.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include <spa/param/video/raw.h>
#include <spa/pod/builder.h>

#include "pipewire/dmabuf_offer.h"

namespace vmcast::pipewire {

// Most damage rectangles one frame's VideoDamage metadata carries; the rest are merged.
inline constexpr uint32_t kMaxDamageRects = 16;
inline constexpr uint32_t kDefaultBufferCount = 8;
inline constexpr uint32_t kMinBufferCount = 4;

// Pixel formats in order of preference: BGRx first, the one every screen consumer takes (the
// composited picture's own byte order); RGB orders for consumers that take nothing else.
inline constexpr spa_video_format kStreamFormats[] = {SPA_VIDEO_FORMAT_BGRx, SPA_VIDEO_FORMAT_BGRA,
                                                      SPA_VIDEO_FORMAT_RGBx, SPA_VIDEO_FORMAT_RGBA};

// A camera node's pixel formats, in order of preference: the browsers' capturer refuses BGRx and
// RGBx, so the alpha byte is there, and opaque.
inline constexpr spa_video_format kCameraFormats[] = {SPA_VIDEO_FORMAT_BGRA, SPA_VIDEO_FORMAT_RGBA};

const char *format_name(spa_video_format format);

// spa_format_video_raw_parse for a Format of one of kStreamFormats (every format vmcast produces
// or reads): false for any other. The parser stores whatever Id the peer sent in info.format,
// and reading an enum holding a value outside its range is undefined (found by
// fuzz/consumer_formats).
bool parse_stream_format(const spa_pod *format, spa_video_info_raw &info);

// The EnumFormats, all of the given size with a variable frame rate up to max_fps: first the
// layout fixed for a consumer, when there is one of this size (one modifier, MANDATORY); then
// for each pixel format its DMA-BUF modifiers (MANDATORY|DONT_FIXATE), then the same format
// with no modifier (shared memory).
std::vector<const spa_pod *> build_enum_formats(spa_pod_builder &builder, uint32_t width,
                                                uint32_t height, uint32_t max_fps,
                                                const DmabufOffer &dmabufs,
                                                const std::optional<DmabufLayout> &fixated);

// A camera node's EnumFormats: one per kCameraFormats format, each in shared memory with a fixed
// size and a fixed framerate of fps/1 (browsers show a camera of variable rate as paused).
std::vector<const spa_pod *> build_camera_formats(spa_pod_builder &builder, uint32_t width,
                                                  uint32_t height, uint32_t fps);

// The modifiers a negotiated Format leaves to choose from, when PipeWire did not fix its
// modifier (both sides flagged it DONT_FIXATE); nullopt when it is fixed or absent.
std::optional<std::vector<uint64_t>> modifiers_to_fixate(const spa_pod *format);

// How a negotiated format's buffers are made.
struct BufferKind {
    bool dmabuf = false; // DMA-BUFs of `planes` planes, allocated by vmcast
    uint32_t planes = 1;
};

// Buffers (shared memory with a tight stride, or DMA-BUFs) and the Header, VideoCrop and
// VideoDamage metadata for a chosen format.
// With cursor_meta, also SPA_META_Cursor (consumers that ask for it get the pointer apart).
std::vector<const spa_pod *> build_buffer_params(spa_pod_builder &builder, uint32_t width,
                                                 uint32_t height, BufferKind kind,
                                                 bool cursor_meta);

} // namespace vmcast::pipewire
