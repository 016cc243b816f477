#include "pipewire/node_directory.h"

#include <cstring>

#include <glib.h>
#include <pipewire/keys.h>
#include <pipewire/pipewire.h>
#include <pipewire/type.h>

namespace vmcast::pipewire {
namespace {

constexpr gint64 kAnswerTimeoutUs = 2 * G_USEC_PER_SEC;

struct Listing {
    std::map<std::string, uint32_t> nodes;
    int sync_seq = 0;
    bool answered = false;
};

} // namespace

std::map<std::string, uint32_t> list_nodes(PipeWireContext &pipewire) {
    Listing listing;
    pw_registry *registry = pw_core_get_registry(pipewire.core(), PW_VERSION_REGISTRY, 0);
    spa_hook registry_listener{};
    static const pw_registry_events registry_events = {
        .version = PW_VERSION_REGISTRY_EVENTS,
        .global =
            [](void *data, uint32_t id, uint32_t, const char *type, uint32_t,
               const spa_dict *props) {
                if (!props || strcmp(type, PW_TYPE_INTERFACE_Node) != 0)
                    return;
                if (const char *name = spa_dict_lookup(props, PW_KEY_NODE_NAME))
                    static_cast<Listing *>(data)->nodes[name] = id;
            },
        .global_remove = nullptr,
    };
    pw_registry_add_listener(registry, &registry_listener, &registry_events, &listing);

    // Every global is announced before the answer to a sync that follows the registry request.
    spa_hook core_listener{};
    static const pw_core_events core_events = {
        .version = PW_VERSION_CORE_EVENTS,
        .info = nullptr,
        .done =
            [](void *data, uint32_t id, int seq) {
                auto *state = static_cast<Listing *>(data);
                if (id == PW_ID_CORE && seq == state->sync_seq)
                    state->answered = true;
            },
        .ping = nullptr,
        .error = nullptr,
        .remove_id = nullptr,
        .bound_id = nullptr,
        .add_mem = nullptr,
        .remove_mem = nullptr,
    };
    pw_core_add_listener(pipewire.core(), &core_listener, &core_events, &listing);
    listing.sync_seq = pw_core_sync(pipewire.core(), PW_ID_CORE, 0);

    const gint64 deadline = g_get_monotonic_time() + kAnswerTimeoutUs;
    while (!listing.answered && g_get_monotonic_time() < deadline) {
        if (!g_main_context_iteration(nullptr, FALSE))
            g_usleep(1000);
    }

    spa_hook_remove(&core_listener);
    spa_hook_remove(&registry_listener);
    pw_proxy_destroy(reinterpret_cast<pw_proxy *>(registry));
    return listing.nodes;
}

} // namespace vmcast::pipewire
