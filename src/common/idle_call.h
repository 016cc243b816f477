// A function run once when the default main context is next idle: to do something after the
// callback that asked for it has returned, or once for several requests in one pass.
#pragma once

#include <functional>
#include <utility>

#include <glib.h>

#include "common/glib_ptr.h"

namespace vmcast {

class IdleCall {
  public:
    IdleCall() = default;
    // GLib holds this object's address.
    IdleCall(const IdleCall &) = delete;
    IdleCall &operator=(const IdleCall &) = delete;

    // Replaces a call still pending.
    void schedule(std::function<void()> function) {
        function_ = std::move(function);
        source_.reset(g_idle_source_new());
        g_source_set_callback(
            source_.get(),
            [](gpointer data) -> gboolean {
                auto *call = static_cast<IdleCall *>(data);
                // The function may schedule again or destroy the owner of this object.
                std::function<void()> function = std::move(call->function_);
                call->source_.reset();
                function();
                return G_SOURCE_REMOVE;
            },
            this, nullptr);
        g_source_attach(source_.get(), nullptr);
    }
    bool pending() const { return source_ != nullptr; }

  private:
    std::function<void()> function_;
    GSourcePtr source_;
};

} // namespace vmcast
