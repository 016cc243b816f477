// Tells a stream about its consumers. PipeWire gives a producer no event when a second consumer
// joins a running stream, nor when a link is activated again after a renegotiation, so the
// registry is watched instead: each link out of a watched node is bound, and once it is active
// the node at its other end too, to learn when that node runs. The port at the link's other
// end is read for the formats that consumer accepts.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include <pipewire/core.h>
#include <pipewire/link.h>
#include <spa/utils/hook.h>

#include <vector>

#include "pipewire/consumer_port.h"
#include "pipewire/registry_listener.h"

namespace vmcast::pipewire {

class LinkWatch {
  public:
    explicit LinkWatch(pw_core *core);
    LinkWatch(const LinkWatch &) = delete;
    LinkWatch &operator=(const LinkWatch &) = delete;
    ~LinkWatch();

    // Until unwatch(node_id): calls on_consumer_running when a link out of node_id is active
    // and its consumer node runs, again each time the link is activated anew (after a
    // renegotiation), on_consumer_formats_changed when consumer_formats(node_id) changed (a
    // consumer's formats were read or changed, or a consumer whose were known left), and
    // on_unlinked when the last link out of node_id went away. Each may be empty.
    void watch(uint32_t node_id, std::function<void()> on_consumer_running,
               std::function<void()> on_consumer_formats_changed,
               std::function<void()> on_unlinked = {});
    void unwatch(uint32_t node_id);

    // The formats each consumer linked to node_id accepts, for the consumers whose port could
    // be read and lists some (PipeWire takes an empty list for "anything"). Valid until
    // control returns to the main loop.
    std::vector<std::vector<const spa_pod *>> consumer_formats(uint32_t node_id) const;
    // Whether any link out of node_id exists.
    bool has_links(uint32_t node_id) const;
    // The consumers linked to node_id whose node runs, named as in a process list
    // ("gst-launch-1.0 (pid 1234)"), for messages to people.
    std::vector<std::string> running_consumers(uint32_t node_id) const;

  private:
    struct WatchedLink;
    struct WatchedNode {
        std::function<void()> on_consumer_running;
        std::function<void()> on_consumer_formats_changed;
        std::function<void()> on_unlinked;
    };
    void on_global(uint32_t id, const char *type, const spa_dict *props);
    void on_global_remove(uint32_t id);
    void on_link_info(WatchedLink *link, const pw_link_info *info);
    void report_if_running(WatchedLink *link);
    void report_formats_changed(uint32_t node_id);

    RegistryListener registry_;
    std::map<uint32_t, WatchedNode> watched_nodes_;
    std::map<uint32_t, std::unique_ptr<WatchedLink>> links_; // by link global id
    std::map<uint32_t, std::string> client_processes_;       // process ids by client id
};

} // namespace vmcast::pipewire
