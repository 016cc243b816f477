#include "pipewire/param_cache_warmer.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include <glib.h>
#include <pipewire/keys.h>
#include <pipewire/node.h>
#include <pipewire/port.h>
#include <pipewire/type.h>
#include <spa/param/param.h>
#include <spa/utils/dict.h>

namespace vmcast::pipewire {

struct ParamCacheWarmer::BoundObject {
    uint32_t node_id = 0;
    bool is_node = false;
    pw_proxy *proxy = nullptr;
    spa_hook listener{};
    spa_hook proxy_listener{};
    std::vector<uint32_t> param_ids;

    ~BoundObject() {
        spa_hook_remove(&proxy_listener);
        spa_hook_remove(&listener);
        if (proxy) // nullptr when binding failed
            pw_proxy_destroy(proxy);
    }

    void set_params(const spa_param_info *params, uint32_t n_params) {
        // The info at hand may predate the change being warmed for: a negotiation makes the
        // Format and Buffers readable just before the warming.
        param_ids.clear();
        for (uint32_t i = 0; i < n_params; ++i) {
            if ((params[i].flags & SPA_PARAM_INFO_READ) || params[i].id == SPA_PARAM_Format ||
                params[i].id == SPA_PARAM_Buffers)
                param_ids.push_back(params[i].id);
        }
    }

    void enum_params() const {
        // Whole lists with no filter: only such a read fills the server's cache.
        for (uint32_t id : param_ids) {
            if (is_node)
                pw_node_enum_params(reinterpret_cast<pw_node *>(proxy), 0, id, 0, UINT32_MAX,
                                    nullptr);
            else
                pw_port_enum_params(reinterpret_cast<pw_port *>(proxy), 0, id, 0, UINT32_MAX,
                                    nullptr);
        }
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

ParamCacheWarmer::~ParamCacheWarmer() {
    bound_.clear();
}

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

void ParamCacheWarmer::warm(uint32_t node_id) {
    for (const auto &[global_id, bound] : bound_) {
        if (bound->node_id == node_id)
            bound->enum_params();
    }
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
    bound->is_node = global.is_node;
    bound->proxy = static_cast<pw_proxy *>(
        global.is_node ? pw_registry_bind(registry_.registry(), global_id, PW_TYPE_INTERFACE_Node,
                                          PW_VERSION_NODE, 0)
                       : pw_registry_bind(registry_.registry(), global_id, PW_TYPE_INTERFACE_Port,
                                          PW_VERSION_PORT, 0));
    if (!bound->proxy)
        return;
    if (bound->is_node) {
        static const pw_node_events events = {
            .version = PW_VERSION_NODE_EVENTS,
            .info =
                [](void *data, const pw_node_info *info) {
                    if (info->change_mask & PW_NODE_CHANGE_MASK_PARAMS)
                        static_cast<BoundObject *>(data)->set_params(info->params, info->n_params);
                },
            .param = nullptr,
        };
        pw_node_add_listener(reinterpret_cast<pw_node *>(bound->proxy), &bound->listener, &events,
                             bound.get());
    } else {
        static const pw_port_events events = {
            .version = PW_VERSION_PORT_EVENTS,
            .info =
                [](void *data, const pw_port_info *info) {
                    if (info->change_mask & PW_PORT_CHANGE_MASK_PARAMS)
                        static_cast<BoundObject *>(data)->set_params(info->params, info->n_params);
                },
            .param = nullptr,
        };
        pw_port_add_listener(reinterpret_cast<pw_port *>(bound->proxy), &bound->listener, &events,
                             bound.get());
    }
    static const pw_proxy_events proxy_events = {
        .version = PW_VERSION_PROXY_EVENTS,
        .destroy = nullptr,
        .bound = nullptr,
        .removed = nullptr,
        .done = nullptr,
        .error =
            [](void *data, int, int, const char *message) {
                g_debug("reading the parameters of node %u: %s",
                        static_cast<BoundObject *>(data)->node_id, message);
            },
    };
    pw_proxy_add_listener(bound->proxy, &bound->proxy_listener, &proxy_events, bound.get());
    bound_[global_id] = std::move(bound);
}

} // namespace vmcast::pipewire
