#include "frame/sigbus_guard.h"

#include <signal.h>
#include <sys/mman.h>

#include <atomic>
#include <cstdint>
#include <mutex>

namespace vmcast::frame {
namespace {

// The handler may run at any moment, so the table is fixed-size and lock-free to read.
struct GuardedRange {
    std::atomic<bool> claimed{false};
    std::atomic<uintptr_t> begin{0}; // published last; 0 while the slot is being set up
    std::atomic<size_t> length{0};
    std::atomic<bool> faulted{false};
};

GuardedRange guarded_ranges[SigbusGuard::kMaxGuards];
struct sigaction previous_action;
std::once_flag handler_installed;

bool map_zero_pages(uintptr_t begin, size_t length) {
    return mmap(reinterpret_cast<void *>(begin), length, PROT_READ,
                MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) != MAP_FAILED;
}

void on_sigbus(int signal, siginfo_t *info, void *context) {
    const auto address = reinterpret_cast<uintptr_t>(info->si_addr);
    for (GuardedRange &range : guarded_ranges) {
        const uintptr_t begin = range.begin.load(std::memory_order_acquire);
        const size_t length = range.length.load(std::memory_order_acquire);
        if (begin != 0 && address >= begin && address - begin < length) {
            if (map_zero_pages(begin, length)) {
                range.faulted.store(true, std::memory_order_release);
                return; // the faulting read runs again, on zero pages
            }
            break;
        }
    }
    // Not ours: behave as if we were never installed.
    if (previous_action.sa_flags & SA_SIGINFO) {
        previous_action.sa_sigaction(signal, info, context);
    } else if (previous_action.sa_handler != SIG_IGN && previous_action.sa_handler != SIG_DFL) {
        previous_action.sa_handler(signal);
    } else {
        ::signal(SIGBUS, SIG_DFL);
        raise(SIGBUS);
    }
}

void install_handler() {
    struct sigaction action = {};
    action.sa_sigaction = on_sigbus;
    action.sa_flags = SA_SIGINFO | SA_NODEFER;
    sigemptyset(&action.sa_mask);
    sigaction(SIGBUS, &action, &previous_action);
}

} // namespace

SigbusGuard::SigbusGuard(void *address, size_t length) {
    std::call_once(handler_installed, install_handler);
    for (int i = 0; i < kMaxGuards; i++) {
        bool was_claimed = false;
        GuardedRange &range = guarded_ranges[i];
        if (!range.claimed.compare_exchange_strong(was_claimed, true))
            continue;
        range.length.store(length, std::memory_order_release);
        range.faulted.store(false, std::memory_order_release);
        range.begin.store(reinterpret_cast<uintptr_t>(address), std::memory_order_release);
        slot_ = i;
        return;
    }
}

SigbusGuard::~SigbusGuard() {
    if (slot_ < 0)
        return;
    guarded_ranges[slot_].begin.store(0, std::memory_order_release);
    guarded_ranges[slot_].claimed.store(false, std::memory_order_release);
}

bool SigbusGuard::faulted() const {
    return slot_ >= 0 && guarded_ranges[slot_].faulted.load(std::memory_order_acquire);
}

} // namespace vmcast::frame
