// vmcast's connection to the PipeWire daemon. PipeWire's main loop runs inside the GLib main
// loop as a GSource, so stream callbacks run on vmcast's one thread. When the daemon goes away
// (it crashed, or was restarted), everything made on its core goes, and a new core is connected
// once the daemon is back: the users are told both, and make their streams again.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <variant>

#include <glib.h>

#include "common/callback_list.h"
#include "common/deferred_call.h"
#include "common/glib_ptr.h"
#include "pipewire/link_watch.h"
#include "pipewire/param_cache_warmer.h"

struct pw_loop;
struct pw_context;
struct pw_core;

namespace vmcast::pipewire {

class PipeWireContext {
  public:
    // nullptr and a one-line reason in error when the daemon cannot be reached.
    static std::unique_ptr<PipeWireContext> connect(GMainContext *context, std::string &error);
    PipeWireContext(const PipeWireContext &) = delete;
    PipeWireContext &operator=(const PipeWireContext &) = delete;
    // Every stream made on this core must be gone first.
    ~PipeWireContext();

    // Whether a core is connected; core(), links() and param_caches() are valid only then.
    bool connected() const;
    pw_core *core() const;
    LinkWatch &links();
    ParamCacheWarmer &param_caches();

    // callback(false) when the daemon went away: everything made on core() must go before it
    // returns (links() and param_caches() still exist then). callback(true) once a new core is
    // connected.
    CallbackList<bool>::Subscription
    watch_connection(std::function<void(bool connected)> callback) {
        return watchers_.add(std::move(callback));
    }

  private:
    // A connected core, with what watches its registry.
    struct Connection;
    // No daemon: a connection is tried every kRetryMs.
    struct Waiting {
        GSourcePtr retry;
    };
    static constexpr guint kRetryMs = 200;

    PipeWireContext();
    // A new core, or nullptr with errno set.
    std::unique_ptr<Connection> open_connection();
    // From the main loop, after the core's error: PipeWire's callback must have returned
    // before the core can go.
    void lose_connection();
    void retry();

    pw_loop *loop_ = nullptr;
    pw_context *context_ = nullptr;
    std::variant<std::unique_ptr<Connection>, Waiting> state_;
    DeferredCall lost_;
    CallbackList<bool> watchers_;
    GSourcePtr loop_source_;
};

} // namespace vmcast::pipewire
