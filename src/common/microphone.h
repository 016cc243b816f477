// A viewer's microphone on its way into the VM: the web side writes the page's sound, decoded
// and converted to the format QEMU records in, from a GStreamer streaming thread; the QEMU side
// reads it on the main loop when QEMU asks (AudioInListener.Read, which QEMU waits for). One
// viewer's sound at a time. Shared (std::shared_ptr) by both sides, so neither outlives it.
#pragma once

#include <algorithm>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <span>
#include <utility>

#include "common/pcm_format.h"

namespace vmcast {

class Microphone {
  public:
    // QEMU reads at its own clock: sound the page sends beyond it (clocks drift, the guest is
    // slow to read) would only add latency, so past this much the oldest goes.
    static constexpr uint32_t kMaxWaitingMs = 200;

    // The format QEMU records in while the guest records, or nullopt while it does not: then
    // nothing is kept, so that a recording starts with fresh sound, not what waited meanwhile.
    void set_format(std::optional<PcmFormat> format) {
        std::lock_guard lock(mutex_);
        if (format != format_)
            waiting_.clear();
        format_ = format;
    }
    std::optional<PcmFormat> format() const {
        std::lock_guard lock(mutex_);
        return format_;
    }

    // The viewer whose sound goes to the VM from now on; whether that changed anything. The
    // viewer it replaces, if any, hears so through the taken_away it gave (called here).
    bool take(uint64_t viewer, std::function<void()> taken_away) {
        std::optional<Owner> replaced;
        {
            std::lock_guard lock(mutex_);
            if (owner_ && owner_->viewer == viewer)
                return false;
            waiting_.clear();
            replaced = std::exchange(owner_, Owner{viewer, std::move(taken_away)});
        }
        if (replaced && replaced->taken_away)
            replaced->taken_away();
        return true;
    }
    // The viewer stops (or goes): if the sound was its, none goes to the VM any more.
    void release(uint64_t viewer) {
        std::optional<Owner> released; // its callback destroyed after the lock
        std::lock_guard lock(mutex_);
        if (!owner_ || owner_->viewer != viewer)
            return;
        released = std::exchange(owner_, std::nullopt);
        waiting_.clear();
    }

    // Whole frames in format, from viewer: kept when the viewer holds the microphone and the
    // format is QEMU's (a change may still be on its way through the decoder).
    void write(uint64_t viewer, const PcmFormat &format, std::span<const uint8_t> frames) {
        std::lock_guard lock(mutex_);
        if (!owner_ || owner_->viewer != viewer || format_ != format)
            return;
        waiting_.insert(waiting_.end(), frames.begin(), frames.end());
        const size_t frame = format.bytes_per_frame();
        const size_t limit = size_t(format.rate) * kMaxWaitingMs / 1000 * frame;
        if (waiting_.size() > limit)
            waiting_.erase(waiting_.begin(), waiting_.begin() + (waiting_.size() - limit));
    }

    // The oldest waiting sound into the start of out, whole frames; how many bytes.
    size_t read(std::span<uint8_t> out) {
        std::lock_guard lock(mutex_);
        const size_t frame = format_ ? format_->bytes_per_frame() : 1;
        const size_t count = std::min(out.size(), waiting_.size()) / frame * frame;
        std::copy_n(waiting_.begin(), count, out.begin());
        waiting_.erase(waiting_.begin(), waiting_.begin() + count);
        return count;
    }

  private:
    struct Owner {
        uint64_t viewer;
        std::function<void()> taken_away;
    };
    mutable std::mutex mutex_;
    std::optional<PcmFormat> format_;
    std::optional<Owner> owner_;
    std::deque<uint8_t> waiting_;
};

} // namespace vmcast
