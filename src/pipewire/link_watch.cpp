#include "pipewire/link_watch.h"

#include <cstdlib>
#include <cstring>

#include <glib.h>
#include <pipewire/keys.h>
#include <pipewire/node.h>
#include <pipewire/type.h>
#include <spa/utils/dict.h>

namespace vmcast::pipewire {

struct LinkWatch::PendingLink {
    LinkWatch *watch = nullptr;
    uint32_t node_id = 0;
    pw_link *proxy = nullptr;
    spa_hook listener{};
    pw_node *consumer = nullptr; // the node at the link's input end, bound once the link is active
    spa_hook consumer_listener{};
    spa_hook consumer_proxy_listener{};
    bool reported = false; // freed when the link goes away, not from its own callback

    ~PendingLink() {
        if (consumer) {
            spa_hook_remove(&consumer_proxy_listener);
            spa_hook_remove(&consumer_listener);
            pw_proxy_destroy(reinterpret_cast<pw_proxy *>(consumer));
        }
        spa_hook_remove(&listener);
        if (proxy) // nullptr when binding failed
            pw_proxy_destroy(reinterpret_cast<pw_proxy *>(proxy));
    }
};

LinkWatch::LinkWatch(pw_core *core)
    : registry_(
          core,
          [this](uint32_t id, const char *type, const spa_dict *props) {
              on_global(id, type, props);
          },
          [this](uint32_t id) { pending_links_.erase(id); }) {}

// Out of line: PendingLink is complete only here.
LinkWatch::~LinkWatch() = default;

void LinkWatch::watch(uint32_t node_id, std::function<void()> on_consumer_running) {
    watched_nodes_[node_id] = std::move(on_consumer_running);
}

void LinkWatch::unwatch(uint32_t node_id) {
    watched_nodes_.erase(node_id);
    std::erase_if(pending_links_,
                  [node_id](const auto &entry) { return entry.second->node_id == node_id; });
}

void LinkWatch::on_global(uint32_t id, const char *type, const spa_dict *props) {
    if (!props || strcmp(type, PW_TYPE_INTERFACE_Link) != 0)
        return;
    const char *output_node = spa_dict_lookup(props, PW_KEY_LINK_OUTPUT_NODE);
    if (!output_node)
        return;
    const uint32_t node_id = uint32_t(strtoul(output_node, nullptr, 10));
    if (!watched_nodes_.contains(node_id))
        return;
    auto link = std::make_unique<PendingLink>();
    link->watch = this;
    link->node_id = node_id;
    link->proxy = static_cast<pw_link *>(
        pw_registry_bind(registry_.registry(), id, PW_TYPE_INTERFACE_Link, PW_VERSION_LINK, 0));
    if (!link->proxy)
        return;
    static const pw_link_events events = {
        .version = PW_VERSION_LINK_EVENTS,
        .info =
            [](void *data, const pw_link_info *info) {
                auto *pending = static_cast<PendingLink *>(data);
                pending->watch->on_link_info(pending, info);
            },
    };
    pw_link_add_listener(link->proxy, &link->listener, &events, link.get());
    pending_links_[id] = std::move(link);
}

void LinkWatch::on_link_info(PendingLink *link, const pw_link_info *info) {
    if (info->state != PW_LINK_STATE_ACTIVE || link->consumer || link->reported)
        return;
    // An active link does not mean the consumer's node runs yet, and a buffer queued before it
    // does is lost to it. The consumer's node says when it runs.
    link->consumer = static_cast<pw_node *>(pw_registry_bind(
        registry_.registry(), info->input_node_id, PW_TYPE_INTERFACE_Node, PW_VERSION_NODE, 0));
    if (!link->consumer) {
        report(link);
        return;
    }
    static const pw_node_events events = {
        .version = PW_VERSION_NODE_EVENTS,
        .info =
            [](void *data, const pw_node_info *node_info) {
                auto *pending = static_cast<PendingLink *>(data);
                if (node_info->state == PW_NODE_STATE_RUNNING)
                    pending->watch->report(pending);
            },
        .param = nullptr,
    };
    pw_node_add_listener(link->consumer, &link->consumer_listener, &events, link);
    // A node vmcast may not see (a sandboxed consumer) cannot be bound: then the link's being
    // active is all there is to go by, and the stream's repeats cover the rest.
    static const pw_proxy_events proxy_events = {
        .version = PW_VERSION_PROXY_EVENTS,
        .destroy = nullptr,
        .bound = nullptr,
        .removed = nullptr,
        .done = nullptr,
        .error =
            [](void *data, int, int, const char *message) {
                auto *pending = static_cast<PendingLink *>(data);
                g_debug("cannot watch a consumer of node %u (%s)", pending->node_id, message);
                pending->watch->report(pending);
            },
    };
    pw_proxy_add_listener(reinterpret_cast<pw_proxy *>(link->consumer),
                          &link->consumer_proxy_listener, &proxy_events, link);
}

void LinkWatch::report(PendingLink *link) {
    if (link->reported)
        return;
    link->reported = true;
    auto watched = watched_nodes_.find(link->node_id);
    if (watched != watched_nodes_.end()) {
        g_debug("a consumer of node %u runs", watched->first);
        watched->second();
    }
}

} // namespace vmcast::pipewire
