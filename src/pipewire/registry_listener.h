// A registry of vmcast's PipeWire connection with its listener, both gone with the object.
#pragma once

#include <cstdint>
#include <functional>
#include <utility>

#include <pipewire/core.h>
#include <spa/utils/dict.h>
#include <spa/utils/hook.h>

namespace vmcast::pipewire {

class RegistryListener {
  public:
    using GlobalCallback =
        std::function<void(uint32_t id, const char *type, const spa_dict *props)>;
    using GlobalRemoveCallback = std::function<void(uint32_t id)>;

    RegistryListener(pw_core *core, GlobalCallback on_global, GlobalRemoveCallback on_remove)
        : on_global_(std::move(on_global)), on_remove_(std::move(on_remove)) {
        registry_ = pw_core_get_registry(core, PW_VERSION_REGISTRY, 0);
        static const pw_registry_events events = {
            .version = PW_VERSION_REGISTRY_EVENTS,
            .global =
                [](void *data, uint32_t id, uint32_t, const char *type, uint32_t,
                   const spa_dict *props) {
                    static_cast<RegistryListener *>(data)->on_global_(id, type, props);
                },
            .global_remove =
                [](void *data, uint32_t id) {
                    static_cast<RegistryListener *>(data)->on_remove_(id);
                },
        };
        pw_registry_add_listener(registry_, &listener_, &events, this);
    }
    RegistryListener(const RegistryListener &) = delete;
    RegistryListener &operator=(const RegistryListener &) = delete;
    ~RegistryListener() {
        spa_hook_remove(&listener_);
        pw_proxy_destroy(reinterpret_cast<pw_proxy *>(registry_));
    }

    pw_registry *registry() const { return registry_; }

  private:
    GlobalCallback on_global_;
    GlobalRemoveCallback on_remove_;
    pw_registry *registry_ = nullptr;
    spa_hook listener_{};
};

} // namespace vmcast::pipewire
