#include "pipewire/pipewire_context.h"

#include <cerrno>
#include <cstring>

#include <pipewire/pipewire.h>

#include "common/fd_source.h"

namespace vmcast::pipewire {

struct PipeWireContext::Connection {
    PipeWireContext *owner = nullptr;
    pw_core *core = nullptr;
    spa_hook core_listener{};
    std::unique_ptr<LinkWatch> links;
    std::unique_ptr<ParamCacheWarmer> param_caches;

    Connection() = default;
    Connection(const Connection &) = delete;
    Connection &operator=(const Connection &) = delete;
    // The registry proxies go before the core that holds them.
    ~Connection() {
        param_caches.reset();
        links.reset();
        spa_hook_remove(&core_listener);
        pw_core_disconnect(core);
    }
};

PipeWireContext::PipeWireContext() = default;

std::unique_ptr<PipeWireContext> PipeWireContext::connect(GMainContext *context,
                                                          std::string &error) {
    pw_init(nullptr, nullptr);
    std::unique_ptr<PipeWireContext> pipewire(new PipeWireContext());
    pipewire->loop_ = pw_loop_new(nullptr);
    if (!pipewire->loop_) {
        error = "cannot create a PipeWire loop";
        return nullptr;
    }
    pw_loop_enter(pipewire->loop_);
    pipewire->context_ = pw_context_new(pipewire->loop_, nullptr, 0);
    if (!pipewire->context_) {
        error = "cannot create a PipeWire context";
        return nullptr;
    }
    std::unique_ptr<Connection> connection = pipewire->open_connection();
    if (!connection) {
        error = std::string("cannot connect to PipeWire (is the pipewire daemon running for "
                            "this user, with XDG_RUNTIME_DIR set?): ") +
                strerror(errno);
        return nullptr;
    }
    pipewire->state_ = std::move(connection);
    pw_loop *loop = pipewire->loop_;
    pipewire->loop_source_ =
        attach_fd_source(context, pw_loop_get_fd(loop), "pipewire",
                         {.before_poll = nullptr, .on_readable = [loop] {
                              if (pw_loop_iterate(loop, 0) < 0 && errno != EINTR)
                                  g_warning("PipeWire loop iteration failed: %s", strerror(errno));
                          }});
    return pipewire;
}

std::unique_ptr<PipeWireContext::Connection> PipeWireContext::open_connection() {
    pw_core *core = pw_context_connect(context_, nullptr, 0);
    if (!core)
        return nullptr;
    auto connection = std::make_unique<Connection>();
    connection->owner = this;
    connection->core = core;
    static const pw_core_events events = {
        .version = PW_VERSION_CORE_EVENTS,
        .info = nullptr,
        .done = nullptr,
        .ping = nullptr,
        .error =
            [](void *data, uint32_t id, int, int res, const char *) {
                // -EPIPE on the core itself: the daemon closed the connection. Other errors
                // belong to single objects, whose owners hear of them.
                if (id != PW_ID_CORE || res != -EPIPE)
                    return;
                PipeWireContext *owner = static_cast<Connection *>(data)->owner;
                owner->lost_.schedule([owner] { owner->lose_connection(); });
            },
        .remove_id = nullptr,
        .bound_id = nullptr,
        .add_mem = nullptr,
        .remove_mem = nullptr,
    };
    pw_core_add_listener(core, &connection->core_listener, &events, connection.get());
    connection->links = std::make_unique<LinkWatch>(core);
    connection->param_caches = std::make_unique<ParamCacheWarmer>(core);
    return connection;
}

void PipeWireContext::lose_connection() {
    if (!connected())
        return;
    g_warning("lost the connection to PipeWire (the daemon stopped): vmcast's nodes are gone "
              "until it is back; trying again every %u ms",
              kRetryMs);
    // The users' streams go first, while the link and parameter watches they unwatch exist.
    watchers_.notify(false);
    state_ = Waiting{attach_timeout(
        kRetryMs,
        [](gpointer self) -> gboolean {
            static_cast<PipeWireContext *>(self)->retry();
            return G_SOURCE_CONTINUE;
        },
        this)};
}

void PipeWireContext::retry() {
    std::unique_ptr<Connection> connection = open_connection();
    if (!connection)
        return; // not back yet: nothing to say every kRetryMs
    // Ends the retry timer too, whose callback this is: GLib keeps it until it returns.
    state_ = std::move(connection);
    g_message("connected to PipeWire again; publishing vmcast's nodes");
    watchers_.notify(true);
}

bool PipeWireContext::connected() const {
    return std::holds_alternative<std::unique_ptr<Connection>>(state_);
}

pw_core *PipeWireContext::core() const {
    return std::get<std::unique_ptr<Connection>>(state_)->core;
}

LinkWatch &PipeWireContext::links() {
    return *std::get<std::unique_ptr<Connection>>(state_)->links;
}

ParamCacheWarmer &PipeWireContext::param_caches() {
    return *std::get<std::unique_ptr<Connection>>(state_)->param_caches;
}

PipeWireContext::~PipeWireContext() {
    loop_source_.reset();
    lost_.cancel();
    state_ = Waiting{};
    if (context_)
        pw_context_destroy(context_);
    if (loop_) {
        pw_loop_leave(loop_);
        pw_loop_destroy(loop_);
    }
    pw_deinit();
}

} // namespace vmcast::pipewire
