// Callbacks that several owners register with one object, each for as long as it keeps the
// Subscription it got: destroying the Subscription removes its callback, also after the list
// itself is gone.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <utility>

namespace vmcast {

template <typename... Args> class CallbackList {
    using Callbacks = std::map<uint64_t, std::function<void(Args...)>>;

  public:
    class [[nodiscard]] Subscription {
      public:
        Subscription() = default;
        Subscription(const Subscription &) = delete;
        Subscription &operator=(const Subscription &) = delete;
        Subscription(Subscription &&other) noexcept
            : callbacks_(std::move(other.callbacks_)), id_(other.id_) {}
        Subscription &operator=(Subscription &&other) noexcept {
            reset();
            callbacks_ = std::move(other.callbacks_);
            id_ = other.id_;
            return *this;
        }
        ~Subscription() { reset(); }

        void reset() {
            if (auto callbacks = callbacks_.lock())
                callbacks->erase(id_);
            callbacks_.reset();
        }

      private:
        friend class CallbackList;
        Subscription(std::weak_ptr<Callbacks> callbacks, uint64_t id)
            : callbacks_(std::move(callbacks)), id_(id) {}
        std::weak_ptr<Callbacks> callbacks_;
        uint64_t id_ = 0;
    };

    Subscription add(std::function<void(Args...)> callback) {
        (*callbacks_)[++last_id_] = std::move(callback);
        return Subscription(callbacks_, last_id_);
    }

    // A callback may remove itself or others meanwhile: each runs only while still registered.
    void notify(Args... args) const {
        const auto keep = callbacks_;
        for (uint64_t id = 0;;) {
            auto next = keep->upper_bound(id);
            if (next == keep->end())
                return;
            id = next->first;
            auto callback = next->second;
            callback(args...);
        }
    }

  private:
    std::shared_ptr<Callbacks> callbacks_ = std::make_shared<Callbacks>();
    uint64_t last_id_ = 0;
};

} // namespace vmcast
