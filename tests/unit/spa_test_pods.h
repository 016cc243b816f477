// What the PipeWire module's unit tests build their SPA pods from: an export allocator that
// allocates nothing real, and consumer EnumFormats built the way pw_stream consumers build them.
#pragma once

#include <algorithm>
#include <cstdint>
#include <memory>
#include <span>
#include <utility>
#include <vector>

#include <spa/param/format.h>
#include <spa/param/video/format-utils.h>
#include <spa/pod/builder.h>

#include "common/export_dmabuf.h"

namespace vmcast_test {

constexpr uint64_t kLinear = 0;
constexpr uint64_t kXTiled = 0x100000000000001; // I915_FORMAT_MOD_X_TILED

// Lists the modifiers it renders into, in its order of preference, and allocates those it is
// told allocate, picking the first it prefers among those asked for (as GBM does). The
// buffers have no planes anyone touches, and nothing renders into them.
class FakeAllocator : public vmcast::ExportDmabufAllocator {
    class Buffer : public vmcast::ExportDmabuf {
      public:
        Buffer(uint32_t width, uint32_t height, uint64_t modifier)
            : width_(width), height_(height), modifier_(modifier) {}
        uint32_t width() const override { return width_; }
        uint32_t height() const override { return height_; }
        uint64_t modifier() const override { return modifier_; }
        std::span<const vmcast::ExportPlane> planes() const override { return plane_; }
        bool render(const vmcast::frame::DamageRegion &) override { return false; }

      private:
        uint32_t width_, height_;
        uint64_t modifier_;
        vmcast::ExportPlane plane_[1];
    };

  public:
    FakeAllocator(std::vector<uint64_t> renderable, std::vector<uint64_t> allocatable)
        : renderable_(std::move(renderable)), allocatable_(std::move(allocatable)) {}

    std::vector<uint64_t> render_modifiers(uint32_t) const override { return renderable_; }
    std::unique_ptr<vmcast::ExportDmabuf> allocate(uint32_t width, uint32_t height, uint32_t,
                                                   std::span<const uint64_t> modifiers) override {
        requests.emplace_back(modifiers.begin(), modifiers.end());
        for (uint64_t modifier : renderable_) {
            if (std::ranges::find(modifiers, modifier) != modifiers.end() &&
                std::ranges::find(allocatable_, modifier) != allocatable_.end())
                return std::make_unique<Buffer>(width, height, modifier);
        }
        return nullptr;
    }

    std::vector<std::vector<uint64_t>> requests; // the modifier lists allocate() was asked for

  private:
    std::vector<uint64_t> renderable_;
    std::vector<uint64_t> allocatable_;
};

// A consumer's EnumFormat for one pixel format, any size and rate; with a modifier list it
// asks for DMA-BUFs, its modifiers flagged as given (pw_stream consumers such as OBS and
// pipewiresrc use MANDATORY|DONT_FIXATE).
inline const spa_pod *consumer_format(spa_pod_builder &builder, spa_video_format format,
                                      const std::vector<uint64_t> &modifiers = {},
                                      uint32_t modifier_flags = SPA_POD_PROP_FLAG_MANDATORY) {
    spa_pod_frame object;
    spa_pod_builder_push_object(&builder, &object, SPA_TYPE_OBJECT_Format, SPA_PARAM_EnumFormat);
    spa_pod_builder_add(&builder, SPA_FORMAT_mediaType, SPA_POD_Id(SPA_MEDIA_TYPE_video),
                        SPA_FORMAT_mediaSubtype, SPA_POD_Id(SPA_MEDIA_SUBTYPE_raw),
                        SPA_FORMAT_VIDEO_format, SPA_POD_Id(format), 0);
    if (!modifiers.empty()) {
        spa_pod_frame choice;
        spa_pod_builder_prop(&builder, SPA_FORMAT_VIDEO_modifier, modifier_flags);
        spa_pod_builder_push_choice(&builder, &choice, SPA_CHOICE_Enum, 0);
        spa_pod_builder_long(&builder, int64_t(modifiers[0]));
        for (uint64_t modifier : modifiers)
            spa_pod_builder_long(&builder, int64_t(modifier));
        spa_pod_builder_pop(&builder, &choice);
    }
    const spa_rectangle min_size{1, 1}, max_size{8192, 8192}, default_size{640, 480};
    const spa_fraction min_rate{0, 1}, max_rate{1000, 1}, default_rate{30, 1};
    spa_pod_builder_add(&builder, SPA_FORMAT_VIDEO_size,
                        SPA_POD_CHOICE_RANGE_Rectangle(&default_size, &min_size, &max_size),
                        SPA_FORMAT_VIDEO_framerate,
                        SPA_POD_CHOICE_RANGE_Fraction(&default_rate, &min_rate, &max_rate), 0);
    return static_cast<const spa_pod *>(spa_pod_builder_pop(&builder, &object));
}

} // namespace vmcast_test
