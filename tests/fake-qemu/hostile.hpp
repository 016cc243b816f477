// The `hostile` command: a seeded stream of random but well-typed listener calls, valid and
// malformed, in any order, then one valid Scanout whose picture a consumer must show exactly.
#pragma once

#include "app.hpp"

#include <algorithm>
#include <map>
#include <random>

namespace fakeqemu {

// What a hostile run sent and how the client answered, per D-Bus method.
struct HostileStats {
    std::map<std::string, uint64_t> sent, rejected;
    uint64_t timeouts = 0;      // replies missing after GDBus's 25 s
    uint64_t late_for_qemu = 0; // ScanoutMap/UpdateDMABUF replies after QEMU's 1 s
    uint64_t closed = 0;        // calls that failed because a connection went away
    int64_t slowest_reply_us = 0;
    int64_t slowest_waited_reply_us = 0; // of the calls QEMU waits for (ScanoutMap, UpdateDMABUF)
    int64_t longest_step_us = 0;         // the longest the peer's main loop was busy in one step
    uint64_t vanished = 0, resized = 0, shrunk = 0;
};

// One random action at a time on the chosen consoles. Every call is asynchronous, so that the
// peer never waits on the client.
class HostileRun : public std::enable_shared_from_this<HostileRun> {
  public:
    HostileRun(App &app, uint64_t seed, std::vector<unsigned> consoles)
        : app_(app), rng_(seed), consoles_(std::move(consoles)) {}

    // One random action.
    void step();
    // Exports again the consoles that left the ObjectManager.
    void reappear_all();
    const HostileStats &stats() const { return stats_; }
    void note_step(int64_t us) { stats_.longest_step_us = std::max(stats_.longest_step_us, us); }
    int pending() const { return pending_; }

  private:
    struct Memfd { // a memfd sent as a DMA-BUF or map, shrunk later by shrink_later()
        UniqueFd fd;
        uint64_t size = 0;
    };

    void send(GDBusProxy *proxy, const char *method, GVariant *params, GUnixFDList *fds = nullptr);
    static void on_reply(GObject *source, GAsyncResult *res, gpointer data);

    uint64_t below(uint64_t n) { return n == 0 ? 0 : rng_() % n; }
    bool chance(unsigned percent) { return below(100) < percent; }
    struct Rect {
        int32_t x, y, w, h;
    };
    uint32_t dimension();
    // Mostly a rect inside the console's last scanout, else anything.
    Rect rect(const Console &con);
    void remember_size(const Console &con, uint32_t w, uint32_t h);
    int32_t coordinate(uint32_t extent);
    uint32_t pixman_format();
    uint32_t drm_fourcc();
    uint64_t stride_for(uint64_t row_bytes);
    std::vector<uint8_t> data_for(uint64_t natural, uint64_t limit);
    Memfd memfd_for(uint64_t natural);
    void shrink_later(Memfd buffer);

    void scanout(Console &con);
    void update(Console &con);
    void cursor_storm(Console &con);
    void mouse_storm(Console &con);
    void disable(Console &con);
    void scanout_dmabuf(Console &con);
    void scanout_dmabuf2(Console &con);
    void update_dmabuf(Console &con);
    void scanout_map(Console &con);
    void update_map(Console &con);
    void resize_or_vanish(Console &con);

    App &app_;
    std::mt19937_64 rng_;
    std::vector<unsigned> consoles_;
    HostileStats stats_;
    int pending_ = 0;
    std::vector<Memfd> to_shrink_; // buffers the client holds, shrunk at a later step
    std::vector<unsigned> gone_;   // consoles taken out of the ObjectManager
    std::map<unsigned, std::pair<uint32_t, uint32_t>> last_size_; // of each console's scanout
};

} // namespace fakeqemu
