// The formats a consumer's input port accepts (its EnumFormat list), kept current.
//
// vmcast subscribes rather than asks: PipeWire then reads the list with sequence number 1, not
// an asynchronous one, so the read cannot complete a pending operation of the consumer's node
// (see ParamCacheWarmer for what a colliding number does to a link in PipeWire 0.3.65).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include <pipewire/core.h>
#include <pipewire/port.h>
#include <spa/utils/hook.h>

#include "pipewire/owned_pod.h"

namespace vmcast::pipewire {

class ConsumerPort {
  public:
    // on_formats_read runs each time a whole list has arrived.
    ConsumerPort(pw_registry *registry, uint32_t port_id, std::function<void()> on_formats_read);
    ConsumerPort(const ConsumerPort &) = delete;
    ConsumerPort &operator=(const ConsumerPort &) = delete;
    ~ConsumerPort();

    // False until the first list arrived, and for a port vmcast may not read.
    bool formats_known() const { return formats_known_; }
    std::vector<const spa_pod *> formats() const;

  private:
    void on_param(uint32_t index, const spa_pod *param);
    void on_done(int seq);

    std::function<void()> on_formats_read_;
    pw_port *proxy_ = nullptr;
    spa_hook port_listener_{};
    spa_hook proxy_listener_{};
    std::vector<OwnedPod> formats_;
    std::vector<OwnedPod> incoming_; // a list still arriving
    int pending_sync_ = -1;          // the sync that marks the end of incoming_
    bool formats_known_ = false;
};

} // namespace vmcast::pipewire
