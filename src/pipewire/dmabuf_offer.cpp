#include "pipewire/dmabuf_offer.h"

#include <drm_fourcc.h>

#include <algorithm>
#include <span>

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

void DmabufOffer::probe(uint32_t width, uint32_t height) {
    probed_.clear();
    if (!allocator_)
        return;
    for (spa_video_format format : kStreamFormats) {
        const uint32_t fourcc = drm_fourcc_for(format);
        for (uint64_t modifier : allocator_->render_modifiers(fourcc)) {
            if (std::ranges::find(dropped_, std::pair(format, modifier)) != dropped_.end())
                continue;
            const uint64_t only[] = {modifier};
            std::unique_ptr<ExportDmabuf> test = allocator_->allocate(width, height, fourcc, only);
            if (!test) {
                // Listed as renderable, yet it does not allocate (at this size, at least).
                dropped_.emplace_back(format, modifier);
                continue;
            }
            probed_.push_back({format, modifier, width, height, uint32_t(test->planes().size())});
        }
    }
}

std::vector<uint64_t> DmabufOffer::modifiers(spa_video_format format) const {
    std::vector<uint64_t> offered;
    for (const DmabufLayout &layout : probed_)
        if (layout.format == format &&
            std::ranges::find(dropped_, std::pair(format, layout.modifier)) == dropped_.end())
            offered.push_back(layout.modifier);
    return offered;
}

std::optional<DmabufLayout> DmabufOffer::layout(spa_video_format format, uint64_t modifier) const {
    const std::vector<uint64_t> offered = modifiers(format);
    if (std::ranges::find(offered, modifier) == offered.end())
        return std::nullopt;
    for (const DmabufLayout &layout : probed_)
        if (layout.format == format && layout.modifier == modifier)
            return layout;
    return std::nullopt;
}

std::unique_ptr<ExportDmabuf> DmabufOffer::allocate(const DmabufLayout &layout) {
    const uint64_t modifiers[] = {layout.modifier};
    std::unique_ptr<ExportDmabuf> buffer =
        allocator_ ? allocator_->allocate(layout.width, layout.height,
                                          drm_fourcc_for(layout.format), modifiers)
                   : nullptr;
    if (!buffer || buffer->planes().size() != layout.planes || buffer->width() != layout.width ||
        buffer->height() != layout.height) {
        if (std::ranges::find(dropped_, std::pair(layout.format, layout.modifier)) ==
            dropped_.end())
            dropped_.emplace_back(layout.format, layout.modifier);
        return nullptr;
    }
    return buffer;
}

} // namespace vmcast::pipewire
