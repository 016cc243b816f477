#include "pipewire/param_cache_warmer.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <iterator>

#include <glib.h>
#include <pipewire/keys.h>
#include <pipewire/node.h>
#include <pipewire/port.h>
#include <pipewire/type.h>
#include <spa/node/command.h>
#include <spa/param/param.h>
#include <spa/utils/dict.h>

namespace vmcast::pipewire {

// A proxy subscribed to the parameters of a node or port; the proxy and its hook go with it.
struct ParamCacheWarmer::BoundObject {
    uint32_t node_id = 0;
    pw_proxy *proxy = nullptr;
    spa_hook proxy_listener{};

    BoundObject() = default;
    BoundObject(const BoundObject &) = delete;
    BoundObject &operator=(const BoundObject &) = delete;
    ~BoundObject() {
        spa_hook_remove(&proxy_listener);
        if (proxy) // nullptr when binding failed
            pw_proxy_destroy(proxy);
    }
};

ParamCacheWarmer::ParamCacheWarmer(pw_core *core)
    : registry_(
          core,
          [this](uint32_t id, const char *type, const spa_dict *props) {
              on_global(id, type, props);
          },
          [this](uint32_t id) {
              globals_.erase(id);
              bound_.erase(id);
          }) {}

// Out of line: BoundObject is complete only here.
ParamCacheWarmer::~ParamCacheWarmer() = default;

void ParamCacheWarmer::watch(uint32_t node_id) {
    if (std::ranges::find(watched_nodes_, node_id) != watched_nodes_.end())
        return;
    watched_nodes_.push_back(node_id);
    // The stream knows its node id before the registry shows the node: what is not there yet
    // is bound when it shows up.
    for (const auto &[global_id, global] : globals_) {
        if (global.node_id == node_id)
            bind(global_id, global);
    }
}

void ParamCacheWarmer::unwatch(uint32_t node_id) {
    std::erase(watched_nodes_, node_id);
    std::erase_if(bound_,
                  [node_id](const auto &entry) { return entry.second->node_id == node_id; });
}

bool ParamCacheWarmer::suspend(uint32_t node_id) {
    const auto global = globals_.find(node_id);
    const auto node = bound_.find(node_id);
    if (global == globals_.end() || !global->second.is_node || node == bound_.end())
        return false;
    const spa_command suspend = SPA_NODE_COMMAND_INIT(SPA_NODE_COMMAND_Suspend);
    pw_node_send_command(reinterpret_cast<pw_node *>(node->second->proxy), &suspend);
    return true;
}

void ParamCacheWarmer::on_global(uint32_t id, const char *type, const spa_dict *props) {
    Global global;
    if (strcmp(type, PW_TYPE_INTERFACE_Node) == 0) {
        global = {.node_id = id, .is_node = true};
    } else if (strcmp(type, PW_TYPE_INTERFACE_Port) == 0) {
        const char *node = props ? spa_dict_lookup(props, PW_KEY_NODE_ID) : nullptr;
        if (!node)
            return;
        global = {.node_id = uint32_t(strtoul(node, nullptr, 10)), .is_node = false};
    } else {
        return;
    }
    globals_[id] = global;
    if (std::ranges::find(watched_nodes_, global.node_id) != watched_nodes_.end())
        bind(id, global);
}

void ParamCacheWarmer::bind(uint32_t global_id, const Global &global) {
    if (bound_.contains(global_id))
        return;
    auto bound = std::make_unique<BoundObject>();
    bound->node_id = global.node_id;
    // The parameters of a pw_stream's node and of its port (PipeWire's stream.c), subscribed
    // to right after binding: the first negotiation usually comes later.
    if (global.is_node) {
        uint32_t node_params[] = {SPA_PARAM_EnumFormat, SPA_PARAM_Format};
        auto *node = static_cast<pw_node *>(pw_registry_bind(
            registry_.registry(), global_id, PW_TYPE_INTERFACE_Node, PW_VERSION_NODE, 0));
        if (node)
            pw_node_subscribe_params(node, node_params, uint32_t(std::size(node_params)));
        bound->proxy = reinterpret_cast<pw_proxy *>(node);
    } else {
        uint32_t port_params[] = {SPA_PARAM_EnumFormat, SPA_PARAM_Meta,    SPA_PARAM_IO,
                                  SPA_PARAM_Format,     SPA_PARAM_Buffers, SPA_PARAM_Latency};
        auto *port = static_cast<pw_port *>(pw_registry_bind(
            registry_.registry(), global_id, PW_TYPE_INTERFACE_Port, PW_VERSION_PORT, 0));
        if (port)
            pw_port_subscribe_params(port, port_params, uint32_t(std::size(port_params)));
        bound->proxy = reinterpret_cast<pw_proxy *>(port);
    }
    if (!bound->proxy)
        return;
    static const pw_proxy_events proxy_events = {
        .version = PW_VERSION_PROXY_EVENTS,
        .destroy = nullptr,
        .bound = nullptr,
        .removed = nullptr,
        .done = nullptr,
        .error =
            [](void *data, int, int, const char *message) {
                // Expected for the Format and Buffers until a consumer has chosen a format.
                g_debug("node %u: a parameter is not readable yet (%s)",
                        static_cast<BoundObject *>(data)->node_id, message);
            },
    };
    pw_proxy_add_listener(bound->proxy, &bound->proxy_listener, &proxy_events, bound.get());
    bound_[global_id] = std::move(bound);
}

} // namespace vmcast::pipewire
