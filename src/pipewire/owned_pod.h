// A copy of a SPA pod that outlives the callback that lent it.
#pragma once

#include <cstdlib>
#include <memory>

#include <spa/pod/pod.h>
#include <spa/pod/builder.h>

namespace vmcast::pipewire {

struct PodFree {
    void operator()(spa_pod *pod) const { free(pod); }
};
using OwnedPod = std::unique_ptr<spa_pod, PodFree>;

inline OwnedPod copy_pod(const spa_pod *pod) {
    return OwnedPod(pod ? spa_pod_copy(pod) : nullptr);
}

} // namespace vmcast::pipewire
