// A function run once on the default main context, later: when it is next idle (to act after
// the callback that asked has returned, or once for several requests in one pass), or after a
// delay (to act once things have settled).
#pragma once

#include <functional>
#include <utility>

#include <glib.h>

#include "common/glib_ptr.h"

namespace vmcast {

class DeferredCall {
  public:
    DeferredCall() = default;
    // GLib holds this object's address.
    DeferredCall(const DeferredCall &) = delete;
    DeferredCall &operator=(const DeferredCall &) = delete;

    // Each replaces a call still pending.
    void schedule(std::function<void()> function) {
        attach(g_idle_source_new(), std::move(function));
    }
    void schedule_in(guint delay_ms, std::function<void()> function) {
        attach(g_timeout_source_new(delay_ms), std::move(function));
    }
    void cancel() {
        source_.reset();
        function_ = nullptr;
    }
    bool pending() const { return source_ != nullptr; }

  private:
    void attach(GSource *source, std::function<void()> function) {
        function_ = std::move(function);
        source_.reset(source);
        g_source_set_callback(
            source_.get(),
            [](gpointer data) -> gboolean {
                auto *call = static_cast<DeferredCall *>(data);
                // The function may schedule again or destroy the owner of this object.
                std::function<void()> function = std::move(call->function_);
                call->source_.reset();
                function();
                return G_SOURCE_REMOVE;
            },
            this, nullptr);
        g_source_attach(source_.get(), nullptr);
    }

    std::function<void()> function_;
    GSourcePtr source_;
};

} // namespace vmcast
