#include "pipewire/consumer_offers.h"

#include <algorithm>
#include <cstdint>

#include <spa/param/format.h>
#include <spa/pod/builder.h>
// PipeWire 0.3.65's filter.h has unused parameters, which -Werror would refuse.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-parameter"
#include <spa/pod/filter.h>
#pragma GCC diagnostic pop
#include <spa/pod/iter.h>

#include "pipewire/workarounds.h"

namespace vmcast::pipewire {

bool consumer_takes(const ConsumerFormats &consumer, const spa_pod *format) {
    // Room for one intersection; a larger one cannot come from vmcast's formats.
    alignas(8) uint8_t scratch[16384];
    if (!workaround::filter_can_read(format))
        return false;
    for (const spa_pod *accepted : consumer) {
        // A format that cannot be filtered offers nothing.
        if (!workaround::filter_can_read(accepted))
            continue;
        spa_pod_builder builder = SPA_POD_BUILDER_INIT(scratch, sizeof(scratch));
        spa_pod *common = nullptr;
        if (spa_pod_filter(&builder, &common, format, accepted) >= 0)
            return true;
    }
    return false;
}

std::vector<bool> offers_every_consumer_takes(const std::vector<const spa_pod *> &offers,
                                              const std::vector<ConsumerFormats> &consumers) {
    std::vector<bool> taken(offers.size());
    for (size_t i = 0; i < offers.size(); ++i) {
        taken[i] = std::ranges::all_of(consumers, [&](const ConsumerFormats &consumer) {
            return consumer_takes(consumer, offers[i]);
        });
    }
    if (std::ranges::none_of(taken, [](bool offer) { return offer; }))
        taken.assign(offers.size(), true);
    return taken;
}

bool offers_dmabufs(const std::vector<const spa_pod *> &offers) {
    return std::ranges::any_of(offers, [](const spa_pod *offer) {
        return spa_pod_find_prop(offer, nullptr, SPA_FORMAT_VIDEO_modifier) != nullptr;
    });
}

std::vector<const spa_pod *> OfferSelection::choose(const std::vector<const spa_pod *> &offers,
                                                    const std::vector<ConsumerFormats> &consumers) {
    announced_ = offers_every_consumer_takes(offers, consumers);
    std::vector<const spa_pod *> chosen;
    for (size_t i = 0; i < offers.size(); ++i) {
        if (announced_[i])
            chosen.push_back(offers[i]);
    }
    return chosen;
}

void OfferSelection::set_running_format(const spa_pod *format) {
    running_format_ = copy_pod(format);
    // A negotiated format keeps only the flags both sides set, so its modifier is MANDATORY
    // only when the first consumer marked it so. Without the flag a consumer that takes no
    // modifier would seem to take this DMA-BUF format.
    if (!running_format_)
        return;
    auto *modifier = const_cast<spa_pod_prop *>(
        spa_pod_find_prop(running_format_.get(), nullptr, SPA_FORMAT_VIDEO_modifier));
    if (modifier)
        modifier->flags |= SPA_POD_PROP_FLAG_MANDATORY;
}

bool OfferSelection::must_choose_again(const std::vector<const spa_pod *> &offers,
                                       const std::vector<ConsumerFormats> &consumers) const {
    if (offers.size() != announced_.size())
        return false; // a new size or a fixed layout: its own announcement is on its way
    const std::vector<bool> taken = offers_every_consumer_takes(offers, consumers);
    if (taken == announced_)
        return false;
    const bool running_format_refused =
        running_format_ && std::ranges::any_of(consumers, [&](const ConsumerFormats &consumer) {
            return !consumer_takes(consumer, running_format_.get());
        });
    bool withheld_offer_suits_all = false;
    for (size_t i = 0; i < offers.size(); ++i)
        withheld_offer_suits_all = withheld_offer_suits_all || (taken[i] && !announced_[i]);
    return running_format_refused || withheld_offer_suits_all;
}

} // namespace vmcast::pipewire
