#include "pipewire/dmabuf_offer.h"

#include <drm_fourcc.h>

#include <algorithm>

#include "pipewire/stream_params.h"

namespace vmcast::pipewire {

uint32_t drm_fourcc_for(spa_video_format format) {
    switch (format) {
    case SPA_VIDEO_FORMAT_BGRx:
        return DRM_FORMAT_XRGB8888;
    case SPA_VIDEO_FORMAT_BGRA:
        return DRM_FORMAT_ARGB8888;
    case SPA_VIDEO_FORMAT_RGBx:
        return DRM_FORMAT_XBGR8888;
    case SPA_VIDEO_FORMAT_RGBA:
        return DRM_FORMAT_ABGR8888;
    default:
        return DRM_FORMAT_INVALID;
    }
}

bool DmabufOffer::available() const {
    if (!allocator_)
        return false;
    return std::ranges::any_of(kStreamFormats, [&](spa_video_format format) {
        return !allocator_->render_modifiers(drm_fourcc_for(format)).empty();
    });
}

std::vector<uint64_t> DmabufOffer::modifiers(spa_video_format format) const {
    std::vector<uint64_t> offered;
    if (!allocator_)
        return offered;
    for (uint64_t modifier : allocator_->render_modifiers(drm_fourcc_for(format)))
        if (!dropped(format, modifier))
            offered.push_back(modifier);
    return offered;
}

std::optional<DmabufLayout> DmabufOffer::fixate(spa_video_format format,
                                                std::span<const uint64_t> candidates,
                                                uint32_t width, uint32_t height) {
    const std::vector<uint64_t> offered = modifiers(format);
    std::vector<uint64_t> usable;
    for (uint64_t modifier : candidates)
        if (std::ranges::find(offered, modifier) != offered.end() &&
            std::ranges::find(usable, modifier) == usable.end())
            usable.push_back(modifier);
    if (usable.empty() || width == 0 || height == 0)
        return std::nullopt;
    std::unique_ptr<ExportDmabuf> test =
        allocator_->allocate(width, height, drm_fourcc_for(format), usable);
    // An allocator that fell back to a layout nobody agreed on counts as a failure too.
    if (!test || test->width() != width || test->height() != height ||
        std::ranges::find(usable, test->modifier()) == usable.end()) {
        for (uint64_t modifier : usable)
            drop(format, modifier);
        return std::nullopt;
    }
    return DmabufLayout{format, test->modifier(), width, height, uint32_t(test->planes().size())};
}

std::unique_ptr<ExportDmabuf> DmabufOffer::allocate(const DmabufLayout &layout) {
    const uint64_t modifiers[] = {layout.modifier};
    std::unique_ptr<ExportDmabuf> buffer =
        allocator_ ? allocator_->allocate(layout.width, layout.height,
                                          drm_fourcc_for(layout.format), modifiers)
                   : nullptr;
    if (!buffer || buffer->planes().size() != layout.planes || buffer->width() != layout.width ||
        buffer->height() != layout.height || buffer->modifier() != layout.modifier) {
        drop(layout.format, layout.modifier);
        return nullptr;
    }
    return buffer;
}

bool DmabufOffer::dropped(spa_video_format format, uint64_t modifier) const {
    return std::ranges::find(dropped_, std::pair(format, modifier)) != dropped_.end();
}

void DmabufOffer::drop(spa_video_format format, uint64_t modifier) {
    if (!dropped(format, modifier))
        dropped_.emplace_back(format, modifier);
}

} // namespace vmcast::pipewire
