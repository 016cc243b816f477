// Tells a stream when a new consumer of it starts running. PipeWire gives a producer no event
// when a second consumer joins a running stream, so the registry is watched instead: each new
// link out of a watched node is bound until it is active, then the node at its other end until
// that node runs.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>

#include <pipewire/core.h>
#include <pipewire/link.h>
#include <spa/utils/hook.h>

#include "pipewire/registry_listener.h"

namespace vmcast::pipewire {

class LinkWatch {
  public:
    explicit LinkWatch(pw_core *core);
    LinkWatch(const LinkWatch &) = delete;
    LinkWatch &operator=(const LinkWatch &) = delete;
    ~LinkWatch();

    // Calls on_consumer_running once for each link out of node_id whose consumer node runs,
    // until unwatch(node_id).
    void watch(uint32_t node_id, std::function<void()> on_consumer_running);
    void unwatch(uint32_t node_id);

  private:
    struct PendingLink;
    void on_global(uint32_t id, const char *type, const spa_dict *props);
    void on_link_info(PendingLink *link, const pw_link_info *info);
    void report(PendingLink *link);

    RegistryListener registry_;
    std::map<uint32_t, std::function<void()>> watched_nodes_;
    std::map<uint32_t, std::unique_ptr<PendingLink>> pending_links_;
};

} // namespace vmcast::pipewire
