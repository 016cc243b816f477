#include "pipewire/link_watch.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include <glib.h>
#include <pipewire/keys.h>
#include <pipewire/client.h>
#include <pipewire/node.h>
#include <pipewire/type.h>
#include <spa/utils/dict.h>

namespace vmcast::pipewire {
namespace {

const char *lookup(const spa_dict &props, const char *key, const char *fallback_key) {
    const char *value = spa_dict_lookup(&props, key);
    return value ? value : spa_dict_lookup(&props, fallback_key);
}

} // namespace

struct LinkWatch::WatchedLink {
    LinkWatch *watch = nullptr;
    uint32_t node_id = 0;
    pw_link *proxy = nullptr;
    std::unique_ptr<ConsumerPort> consumer_port; // the link's input end
    spa_hook listener{};
    pw_node *consumer = nullptr; // the node at the link's input end, bound once the link is active
    spa_hook consumer_listener{};
    spa_hook consumer_proxy_listener{};
    // From the consumer node's properties.
    std::string consumer_name = "a consumer vmcast cannot see";
    uint32_t consumer_client = SPA_ID_INVALID;
    bool active = false;
    bool consumer_running = false;
    bool reported = false; // since the link last became active

    ~WatchedLink() {
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
          [this](uint32_t id) { on_global_remove(id); }) {}

// Out of line: WatchedLink is complete only here.
LinkWatch::~LinkWatch() = default;

void LinkWatch::watch(uint32_t node_id, std::function<void()> on_consumer_running,
                      std::function<void()> on_consumer_formats_changed,
                      std::function<void()> on_unlinked) {
    watched_nodes_[node_id] = {std::move(on_consumer_running),
                               std::move(on_consumer_formats_changed), std::move(on_unlinked)};
}

void LinkWatch::unwatch(uint32_t node_id) {
    watched_nodes_.erase(node_id);
    std::erase_if(links_,
                  [node_id](const auto &entry) { return entry.second->node_id == node_id; });
}

std::vector<std::vector<const spa_pod *>> LinkWatch::consumer_formats(uint32_t node_id) const {
    std::vector<std::vector<const spa_pod *>> formats;
    for (const auto &[id, link] : links_) {
        if (link->node_id == node_id && link->consumer_port &&
            link->consumer_port->formats_known() && !link->consumer_port->formats().empty())
            formats.push_back(link->consumer_port->formats());
    }
    return formats;
}

bool LinkWatch::has_links(uint32_t node_id) const {
    return std::ranges::any_of(
        links_, [node_id](const auto &entry) { return entry.second->node_id == node_id; });
}

std::vector<std::string> LinkWatch::running_consumers(uint32_t node_id) const {
    std::vector<std::string> names;
    for (const auto &[id, link] : links_) {
        if (link->node_id != node_id || !link->active || !link->consumer_running)
            continue;
        const auto process = client_processes_.find(link->consumer_client);
        names.push_back(process == client_processes_.end()
                            ? link->consumer_name
                            : link->consumer_name + " (pid " + process->second + ")");
    }
    return names;
}

void LinkWatch::on_global(uint32_t id, const char *type, const spa_dict *props) {
    if (props && strcmp(type, PW_TYPE_INTERFACE_Client) == 0) {
        // The process id the kernel vouched for, else the one the client states.
        if (const char *pid = lookup(*props, PW_KEY_SEC_PID, PW_KEY_APP_PROCESS_ID))
            client_processes_[id] = pid;
        return;
    }
    if (!props || strcmp(type, PW_TYPE_INTERFACE_Link) != 0)
        return;
    const char *output_node = spa_dict_lookup(props, PW_KEY_LINK_OUTPUT_NODE);
    if (!output_node)
        return;
    const uint32_t node_id = uint32_t(strtoul(output_node, nullptr, 10));
    if (!watched_nodes_.contains(node_id))
        return;
    auto link = std::make_unique<WatchedLink>();
    link->watch = this;
    link->node_id = node_id;
    link->proxy = static_cast<pw_link *>(
        pw_registry_bind(registry_.registry(), id, PW_TYPE_INTERFACE_Link, PW_VERSION_LINK, 0));
    if (!link->proxy) {
        // Still a link: has_links() must see it (a camera must not change size under it).
        links_[id] = std::move(link);
        return;
    }
    static const pw_link_events events = {
        .version = PW_VERSION_LINK_EVENTS,
        .info =
            [](void *data, const pw_link_info *info) {
                auto *link = static_cast<WatchedLink *>(data);
                link->watch->on_link_info(link, info);
            },
    };
    pw_link_add_listener(link->proxy, &link->listener, &events, link.get());
    if (const char *input_port = spa_dict_lookup(props, PW_KEY_LINK_INPUT_PORT)) {
        link->consumer_port = std::make_unique<ConsumerPort>(
            registry_.registry(), uint32_t(strtoul(input_port, nullptr, 10)),
            [this, node_id] { report_formats_changed(node_id); });
    }
    links_[id] = std::move(link);
}

void LinkWatch::on_global_remove(uint32_t id) {
    client_processes_.erase(id);
    auto link = links_.find(id);
    if (link == links_.end())
        return;
    const uint32_t node_id = link->second->node_id;
    const bool formats_known =
        link->second->consumer_port && link->second->consumer_port->formats_known();
    links_.erase(link);
    if (formats_known)
        report_formats_changed(node_id);
    auto watched = watched_nodes_.find(node_id);
    if (watched != watched_nodes_.end() && watched->second.on_unlinked && !has_links(node_id))
        watched->second.on_unlinked();
}

void LinkWatch::on_link_info(WatchedLink *link, const pw_link_info *info) {
    // A renegotiation (a new size) pauses the link and activates it again; its consumer then
    // needs the picture again, like a new one.
    link->active = info->state == PW_LINK_STATE_ACTIVE;
    if (!link->active)
        link->reported = false;
    if (!link->active || link->consumer) {
        report_if_running(link);
        return;
    }
    // An active link does not mean the consumer's node runs yet, and a buffer queued before it
    // does is lost to it. The consumer's node says when it runs.
    link->consumer = static_cast<pw_node *>(pw_registry_bind(
        registry_.registry(), info->input_node_id, PW_TYPE_INTERFACE_Node, PW_VERSION_NODE, 0));
    if (!link->consumer) {
        link->consumer_running = true;
        report_if_running(link);
        return;
    }
    static const pw_node_events events = {
        .version = PW_VERSION_NODE_EVENTS,
        .info =
            [](void *data, const pw_node_info *node_info) {
                auto *link = static_cast<WatchedLink *>(data);
                if ((node_info->change_mask & PW_NODE_CHANGE_MASK_PROPS) && node_info->props) {
                    const spa_dict &props = *node_info->props;
                    if (const char *name = lookup(props, PW_KEY_APP_NAME, PW_KEY_NODE_NAME))
                        link->consumer_name = name;
                    if (const char *client = spa_dict_lookup(&props, PW_KEY_CLIENT_ID))
                        link->consumer_client = uint32_t(strtoul(client, nullptr, 10));
                }
                link->consumer_running = node_info->state == PW_NODE_STATE_RUNNING;
                link->watch->report_if_running(link);
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
                auto *link = static_cast<WatchedLink *>(data);
                g_debug("cannot watch a consumer of node %u (%s)", link->node_id, message);
                link->consumer_running = true;
                link->watch->report_if_running(link);
            },
    };
    pw_proxy_add_listener(reinterpret_cast<pw_proxy *>(link->consumer),
                          &link->consumer_proxy_listener, &proxy_events, link);
}

void LinkWatch::report_if_running(WatchedLink *link) {
    if (!link->active || !link->consumer_running || link->reported)
        return;
    link->reported = true;
    auto watched = watched_nodes_.find(link->node_id);
    if (watched == watched_nodes_.end())
        return;
    g_debug("a consumer of node %u runs", watched->first);
    if (watched->second.on_consumer_running)
        watched->second.on_consumer_running();
}

void LinkWatch::report_formats_changed(uint32_t node_id) {
    auto watched = watched_nodes_.find(node_id);
    if (watched != watched_nodes_.end() && watched->second.on_consumer_formats_changed)
        watched->second.on_consumer_formats_changed();
}

} // namespace vmcast::pipewire
