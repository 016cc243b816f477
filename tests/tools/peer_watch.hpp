// Watches the registry: reports new nodes (so the consumer can wait for its target to exist)
// and which producer node the consumer stream is linked to.
//
// WirePlumber 0.4.13 falls back to the default Video/Source when target.object names no
// existing node (or when the target disappears), so a test could silently read another VM's
// screen. Reporting the real peer lets the tool refuse frames from the wrong node.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>

#include <pipewire/pipewire.h>

#include "pipewire_raii.hpp"

namespace vmcast_tools {

struct PeerNode {
    uint32_t id = SPA_ID_INVALID;
    std::string name;   // node.name, empty if unknown
    std::string serial; // object.serial, empty if unknown
};

class PeerWatch {
  public:
    using LinkedCallback = std::function<void(const PeerNode &)>;
    using UnlinkedCallback = std::function<void(uint32_t node_id)>;
    using NodeAddedCallback = std::function<void(const PeerNode &)>;

    PeerWatch(pw_core *core, NodeAddedCallback node_added, LinkedCallback linked,
              UnlinkedCallback unlinked);
    ~PeerWatch();
    PeerWatch(const PeerWatch &) = delete;
    PeerWatch &operator=(const PeerWatch &) = delete;

    // The stream's own node id is only known once it is connected (state "paused").
    void set_own_node(uint32_t node_id);

  private:
    struct Link {
        uint32_t output_node = SPA_ID_INVALID;
        uint32_t input_node = SPA_ID_INVALID;
        bool counted = false; // reported as part of a peer's link count
    };

    static void on_global(void *data, uint32_t id, uint32_t permissions, const char *type,
                          uint32_t version, const spa_dict *props);
    static void on_global_remove(void *data, uint32_t id);
    void update_links();
    void forget_link(Link &link);

    NodeAddedCallback node_added_;
    LinkedCallback linked_;
    UnlinkedCallback unlinked_;
    RegistryPtr registry_;
    spa_hook registry_listener_{};
    uint32_t own_node_ = SPA_ID_INVALID;
    std::map<uint32_t, PeerNode> nodes_;
    std::map<uint32_t, Link> links_;
    std::map<uint32_t, int> peer_link_counts_; // peer node id -> links to our node
};

} // namespace vmcast_tools
