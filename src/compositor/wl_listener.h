// A wl_listener owned by a C++ object: connected to one wl_signal at a time, removed from it
// on disconnect or destruction, so no listener outlives its owner.
#pragma once

#include <cstddef>
#include <functional>

#include <wayland-server-core.h>

namespace vmcast::compositor {

template <typename EventData> class WlListener {
  public:
    using Callback = std::function<void(EventData *)>;

    WlListener() { wl_list_init(&link_.listener.link); }
    WlListener(const WlListener &) = delete;
    WlListener &operator=(const WlListener &) = delete;
    ~WlListener() { disconnect(); }

    void connect(wl_signal *signal, Callback callback) {
        connect_by([signal](wl_listener *listener) { wl_signal_add(signal, listener); },
                   std::move(callback));
    }

    // For signals libwayland keeps to itself: add(listener) adds the listener to one
    // (wl_client_add_destroy_listener and the like).
    template <typename Add> void connect_by(Add add, Callback callback) {
        disconnect();
        callback_ = std::move(callback);
        link_.self = this;
        link_.listener.notify = &WlListener::notify;
        add(&link_.listener);
    }

    void disconnect() {
        wl_list_remove(&link_.listener.link);
        wl_list_init(&link_.listener.link);
    }

  private:
    // Standard layout, so the owner is found from the wl_listener pointer without offsetof on
    // a non-standard-layout class.
    struct Link {
        wl_listener listener;
        WlListener *self;
    };

    static void notify(wl_listener *listener, void *data) {
        auto *link =
            reinterpret_cast<Link *>(reinterpret_cast<char *>(listener) - offsetof(Link, listener));
        // A copy runs, as a callback may destroy its own listener (a device's destroy event).
        Callback callback = link->self->callback_;
        callback(static_cast<EventData *>(data));
    }

    Link link_{};
    Callback callback_;
};

} // namespace vmcast::compositor
