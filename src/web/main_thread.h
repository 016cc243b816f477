// GStreamer calls back on its streaming threads; vmcast's state lives on the one GLib main loop.
// A Lifeline hands work from any thread to the main loop, and drops it when its owner is gone by
// the time the loop runs it.
#pragma once

#include <glib.h>

#include <functional>
#include <memory>

namespace vmcast::web {

class Lifeline {
  public:
    // A copy of the owner's liveness that other threads keep: copying and posting are safe on
    // any thread, also while or after the owner is destroyed.
    class Handle {
      public:
        // Runs work later on the default main context, if the owner still lives then. Always
        // queued, also from the main thread, so callers never re-enter themselves.
        void post(std::function<void()> work) const {
            struct Posted {
                std::shared_ptr<bool> alive;
                std::function<void()> work;
            };
            g_idle_add_full(
                G_PRIORITY_DEFAULT,
                [](gpointer data) -> gboolean {
                    auto *item = static_cast<Posted *>(data);
                    if (*item->alive)
                        item->work();
                    return G_SOURCE_REMOVE;
                },
                new Posted{alive_, std::move(work)},
                [](gpointer data) { delete static_cast<Posted *>(data); });
        }

      private:
        friend class Lifeline;
        explicit Handle(std::shared_ptr<bool> alive) : alive_(std::move(alive)) {}
        // Written on the main thread only, by ~Lifeline; read there only, by posted work.
        std::shared_ptr<bool> alive_;
    };

    Lifeline() = default;
    Lifeline(const Lifeline &) = delete;
    Lifeline &operator=(const Lifeline &) = delete;
    // On the main thread: work posted earlier and not yet run is dropped.
    ~Lifeline() { *alive_ = false; }

    Handle handle() const { return Handle(alive_); }
    void post(std::function<void()> work) const { handle().post(std::move(work)); }

  private:
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

// User data for a GStreamer signal or promise that fires on another thread: the owner's
// lifeline and the owner, which only posted work may touch. Freed by GLib's destroy notify.
template <typename Owner> struct ThreadCallback {
    Lifeline::Handle lifeline;
    Owner *owner;

    static void destroy(gpointer data, GClosure * = nullptr) {
        delete static_cast<ThreadCallback *>(data);
    }
    static void destroy_notify(gpointer data) { destroy(data); }
};

} // namespace vmcast::web
