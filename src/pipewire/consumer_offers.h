// Which of a stream's formats to offer, given the formats its linked consumers accept.
//
// Several consumers share one stream, so one format. PipeWire 0.3.65 gives a consumer that
// joins a running stream the running format without holding it against the consumer's own
// (pw_context_find_format falls back to the producer's format when they have nothing in
// common). A consumer that takes only shared memory, joining a stream that runs on DMA-BUFs,
// would get buffers it cannot read. So vmcast keeps the running format one every consumer
// takes, when there is one.
#pragma once

#include <vector>

#include <spa/pod/pod.h>

#include "pipewire/owned_pod.h"

namespace vmcast::pipewire {

using ConsumerFormats = std::vector<const spa_pod *>; // one consumer's EnumFormat list

// Whether format has something in common with one of the formats a consumer accepts.
bool consumer_takes(const ConsumerFormats &consumer, const spa_pod *format);

// For each offer, whether every consumer takes it. When no offer suits them all (consumers
// that want different things), every offer: PipeWire then lets the first one decide.
std::vector<bool> offers_every_consumer_takes(const std::vector<const spa_pod *> &offers,
                                              const std::vector<ConsumerFormats> &consumers);

// Whether any offer is a DMA-BUF one (carries a modifier).
bool offers_dmabufs(const std::vector<const spa_pod *> &offers);

// Which of a stream's offers it announced, and when the consumers call for another choice.
// The offers are the same list (one size, one fixed DMA-BUF layout) from one choose() to the next.
class OfferSelection {
  public:
    // The offers to announce: those every linked consumer takes. Remembered as announced.
    std::vector<const spa_pod *> choose(const std::vector<const spa_pod *> &offers,
                                        const std::vector<ConsumerFormats> &consumers);
    // Whether choose() must run again after the consumers or the running format changed: a
    // consumer does not take the running format, or offers withheld earlier now suit every
    // consumer (the one that could not take them left). Fewer offers alone change nothing:
    // what runs suits everyone, and renegotiating would only interrupt them.
    bool must_choose_again(const std::vector<const spa_pod *> &offers,
                           const std::vector<ConsumerFormats> &consumers) const;
    // The format the stream runs with; nullptr while none is agreed.
    void set_running_format(const spa_pod *format);

  private:
    std::vector<bool> announced_;
    OwnedPod running_format_;
};

} // namespace vmcast::pipewire
