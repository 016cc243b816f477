// Keeps PipeWire's parameter cache of vmcast's own stream nodes filled, so that other clients
// reading their parameters cannot cut a buffer allocation short.
//
// Why: PipeWire 0.3.x waits for a producer-allocated buffer set with a ping to the producer and
// matches the answer by sequence number alone, against every result the producer's node emits.
// A client that reads one of the node's parameters while the server has no cached copy (as
// WirePlumber does right after the format changes) gets a result tagged with its own message
// sequence; when that number happens to equal the ping's, the server takes it for the answer
// and hands the consumer the buffers before vmcast has filled them in: the consumer gets no
// picture until the next negotiation. A cached parameter is answered without a result on the
// node. vmcast subscribes to its own node's and port's parameters: the server then reads each
// one again the moment it changes, with a sequence number no ping can have, and caches it.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <vector>

#include <pipewire/core.h>

#include "pipewire/registry_listener.h"

namespace vmcast::pipewire {

class ParamCacheWarmer {
  public:
    explicit ParamCacheWarmer(pw_core *core);
    ParamCacheWarmer(const ParamCacheWarmer &) = delete;
    ParamCacheWarmer &operator=(const ParamCacheWarmer &) = delete;
    ~ParamCacheWarmer();

    // Subscribes to the parameters of node_id and its ports once the registry shows them,
    // until unwatch(node_id).
    void watch(uint32_t node_id);
    void unwatch(uint32_t node_id);
    // Asks PipeWire to suspend a watched node, which unsets its ports' formats and frees their
    // buffers, as WirePlumber does to an idle node after a few seconds. False when the node is
    // not bound (yet).
    bool suspend(uint32_t node_id);

  private:
    struct BoundObject;
    struct Global {
        uint32_t node_id = 0; // the node itself, or the node a port belongs to
        bool is_node = false;
    };
    void on_global(uint32_t id, const char *type, const spa_dict *props);
    void bind(uint32_t global_id, const Global &global);

    RegistryListener registry_;
    std::vector<uint32_t> watched_nodes_;
    std::map<uint32_t, Global> globals_;                     // every node and port, by global id
    std::map<uint32_t, std::unique_ptr<BoundObject>> bound_; // by global id
};

} // namespace vmcast::pipewire
