#include "pipewire/consumer_port.h"

#include <glib.h>
#include <pipewire/type.h>
#include <spa/param/param.h>
#include <spa/pod/pod.h>

namespace vmcast::pipewire {

ConsumerPort::ConsumerPort(pw_registry *registry, uint32_t port_id,
                           std::function<void()> on_formats_read)
    : on_formats_read_(std::move(on_formats_read)) {
    proxy_ = static_cast<pw_port *>(
        pw_registry_bind(registry, port_id, PW_TYPE_INTERFACE_Port, PW_VERSION_PORT, 0));
    if (!proxy_)
        return;
    static const pw_port_events port_events = {
        .version = PW_VERSION_PORT_EVENTS,
        .info = nullptr,
        .param =
            [](void *data, int, uint32_t id, uint32_t index, uint32_t, const spa_pod *param) {
                if (id == SPA_PARAM_EnumFormat)
                    static_cast<ConsumerPort *>(data)->on_param(index, param);
            },
    };
    pw_port_add_listener(proxy_, &port_listener_, &port_events, this);
    static const pw_proxy_events proxy_events = {
        .version = PW_VERSION_PROXY_EVENTS,
        .destroy = nullptr,
        .bound = nullptr,
        .removed = nullptr,
        .done = [](void *data, int seq) { static_cast<ConsumerPort *>(data)->on_done(seq); },
        // A port vmcast may not see (a sandboxed consumer's) stays unknown: it then limits
        // nothing. A port that has no formats yet answers the subscription with an error
        // too; its formats arrive with the first list it announces.
        .error =
            [](void *data, int, int, const char *message) {
                g_debug("a consumer's formats are not readable (yet): %s", message);
                static_cast<ConsumerPort *>(data)->pending_sync_ = -1;
            },
    };
    pw_proxy_add_listener(reinterpret_cast<pw_proxy *>(proxy_), &proxy_listener_, &proxy_events,
                          this);
    uint32_t ids[] = {SPA_PARAM_EnumFormat};
    pw_port_subscribe_params(proxy_, ids, 1);
    // The subscription sends the list at once; a sync marks its end, also when it is empty.
    pending_sync_ = pw_proxy_sync(reinterpret_cast<pw_proxy *>(proxy_), 0);
}

ConsumerPort::~ConsumerPort() {
    if (!proxy_)
        return;
    spa_hook_remove(&proxy_listener_);
    spa_hook_remove(&port_listener_);
    pw_proxy_destroy(reinterpret_cast<pw_proxy *>(proxy_));
}

std::vector<const spa_pod *> ConsumerPort::formats() const {
    std::vector<const spa_pod *> pods;
    for (const OwnedPod &pod : formats_)
        pods.push_back(pod.get());
    return pods;
}

void ConsumerPort::on_param(uint32_t index, const spa_pod *param) {
    // PipeWire sends the whole list again, from index 0, whenever the consumer changes it.
    if (index == 0)
        incoming_.clear();
    if (!param || !spa_pod_is_object_type(param, SPA_TYPE_OBJECT_Format))
        return;
    incoming_.push_back(copy_pod(param));
    if (pending_sync_ < 0)
        pending_sync_ = pw_proxy_sync(reinterpret_cast<pw_proxy *>(proxy_), 0);
}

void ConsumerPort::on_done(int seq) {
    if (seq != pending_sync_)
        return;
    pending_sync_ = -1;
    formats_ = std::move(incoming_);
    incoming_.clear();
    formats_known_ = true;
    on_formats_read_();
}

} // namespace vmcast::pipewire
