#include "peer_watch.hpp"

#include <cstdlib>
#include <cstring>

namespace vmcast_tools {

namespace {

uint32_t dict_id(const spa_dict *props, const char *key) {
    const char *value = props ? spa_dict_lookup(props, key) : nullptr;
    if (!value)
        return SPA_ID_INVALID;
    char *end = nullptr;
    const unsigned long id = std::strtoul(value, &end, 10);
    return (*end == '\0' && end != value) ? static_cast<uint32_t>(id) : SPA_ID_INVALID;
}

std::string dict_string(const spa_dict *props, const char *key) {
    const char *value = props ? spa_dict_lookup(props, key) : nullptr;
    return value ? value : "";
}

} // namespace

PeerWatch::PeerWatch(pw_core *core, NodeAddedCallback node_added, LinkedCallback linked,
                     UnlinkedCallback unlinked)
    : node_added_(std::move(node_added)), linked_(std::move(linked)),
      unlinked_(std::move(unlinked)),
      registry_(pw_core_get_registry(core, PW_VERSION_REGISTRY, 0)) {
    static const pw_registry_events events = [] {
        pw_registry_events e{};
        e.version = PW_VERSION_REGISTRY_EVENTS;
        e.global = on_global;
        e.global_remove = on_global_remove;
        return e;
    }();
    if (registry_)
        pw_registry_add_listener(registry_.get(), &registry_listener_, &events, this);
}

PeerWatch::~PeerWatch() {
    if (registry_)
        spa_hook_remove(&registry_listener_);
}

void PeerWatch::set_own_node(uint32_t node_id) {
    if (node_id == own_node_)
        return;
    own_node_ = node_id;
    update_links();
}

void PeerWatch::on_global(void *data, uint32_t id, uint32_t, const char *type, uint32_t,
                          const spa_dict *props) {
    auto *self = static_cast<PeerWatch *>(data);
    if (std::strcmp(type, PW_TYPE_INTERFACE_Node) == 0) {
        PeerNode node;
        node.id = id;
        node.name = dict_string(props, PW_KEY_NODE_NAME);
        node.serial = dict_string(props, PW_KEY_OBJECT_SERIAL);
        self->nodes_[id] = node;
        self->node_added_(node);
    } else if (std::strcmp(type, PW_TYPE_INTERFACE_Link) == 0) {
        Link link;
        link.output_node = dict_id(props, PW_KEY_LINK_OUTPUT_NODE);
        link.input_node = dict_id(props, PW_KEY_LINK_INPUT_NODE);
        self->links_[id] = link;
    } else {
        return;
    }
    self->update_links();
}

void PeerWatch::on_global_remove(void *data, uint32_t id) {
    auto *self = static_cast<PeerWatch *>(data);
    if (auto link = self->links_.find(id); link != self->links_.end()) {
        self->forget_link(link->second);
        self->links_.erase(link);
    }
    self->nodes_.erase(id);
}

void PeerWatch::forget_link(Link &link) {
    if (!link.counted)
        return;
    link.counted = false;
    if (--peer_link_counts_[link.output_node] == 0) {
        peer_link_counts_.erase(link.output_node);
        unlinked_(link.output_node);
    }
}

// Counts every link into our node whose producer node is known; the first link to a peer
// reports it. Links can be announced before the nodes they join, so this runs on every change.
void PeerWatch::update_links() {
    if (own_node_ == SPA_ID_INVALID)
        return;
    for (auto &[link_id, link] : links_) {
        if (link.counted || link.input_node != own_node_)
            continue;
        auto peer = nodes_.find(link.output_node);
        if (peer == nodes_.end())
            continue;
        link.counted = true;
        if (peer_link_counts_[link.output_node]++ == 0)
            linked_(peer->second);
    }
}

} // namespace vmcast_tools
