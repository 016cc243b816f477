// stream: a steady flow of real frame changes for the benchmarks (bench/). Each tick writes a
// cheap change (a solid fill, or a text line scrolling in) and a seq stamp into the console's
// surface or mapped memfd, then sends Update or UpdateMap as QEMU does. Send times are kept in
// memory and written to stamps= only at the end, so the peer costs little per frame and the
// vmcast CPU and latency it measures are vmcast's own.
#include "app.hpp"
#include "stream_target.hpp"

#include <glib-unix.h>
#include <sys/timerfd.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <unordered_map>

namespace fakeqemu {

namespace {

constexpr int kMaxInFlight = 64; // per listener, with rate > 0: a stuck client skips ticks

int64_t mono_ns() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

double number_arg(const Args &a, const char *key, double def) {
    const std::string text = a.str(key, "");
    if (text.empty())
        return def;
    char *end = nullptr;
    const double v = g_ascii_strtod(text.c_str(), &end);
    if (end == text.c_str() || *end != '\0' || !std::isfinite(v) || v < 0)
        throw CommandError(kBadCommand, std::string(key) + ": not a number >= 0");
    return v;
}

struct Config {
    RegionKind region = RegionKind::Full;
    double rate = 0; // ticks per second; 0 = as fast as replies come back
    int64_t duration_ns = 0;
    uint32_t frames = 0; // 0: until duration
    int window = 2;      // calls in flight per listener with rate=0
    int call_timeout_ms = kDefaultTimeoutMs;
    std::optional<std::string> stamps;
    bool block_stamp = false; // stamp=blocks: a stamp for decoded video
};

class Stream : public std::enable_shared_from_this<Stream> {
  public:
    Stream(App &app, CommandPtr cmd, Config cfg, std::vector<Target> targets)
        : app_(app), cmd_(std::move(cmd)), cfg_(std::move(cfg)), targets_(std::move(targets)) {}
    Stream(const Stream &) = delete;
    Stream &operator=(const Stream &) = delete;
    void start();

  private:
    struct Stamp {
        uint32_t seq;
        int64_t ns;
    };
    struct Call {
        Target *target;
        ListenerPtr listener;
    };
    struct Reply {
        std::shared_ptr<Stream> stream;
        int listener;
    };

    guint add_timeout(guint ms, GSourceFunc fn);
    static std::shared_ptr<Stream> self_of(gpointer data) {
        return *static_cast<std::shared_ptr<Stream> *>(data);
    }
    static gboolean on_timer(gint fd, GIOCondition, gpointer data);
    static gboolean on_end(gpointer data);
    static gboolean on_drain(gpointer data);
    static void on_reply(GObject *source, GAsyncResult *res, gpointer data);

    int64_t deadline() const {
        return base_ns_ + std::llround(static_cast<double>(index_) * 1e9 / cfg_.rate);
    }
    void arm(int64_t deadline_ns);
    void paced_tick();
    void pump();
    bool window_open() const;
    bool tick(bool paced);
    void paint(Target &t, uint32_t seq);
    void send(const Call &call, uint32_t seq);
    void stop_sending();
    void finish();
    bool write_stamps(std::string &message) const;

    App &app_;
    CommandPtr cmd_;
    Config cfg_;
    std::vector<Target> targets_;
    std::vector<Call> calls_;                // scratch, reused every tick
    std::vector<Stamp> stamps_;              // preallocated: no allocation in the hot path
    std::unordered_map<int, int> in_flight_; // listener id -> calls without a reply
    UniqueFd timer_;
    guint timer_source_ = 0, end_source_ = 0, drain_source_ = 0;
    // Tick index_ is due at base_ns_ + index_ / rate: computed, not summed, so rounding never
    // adds or drops a tick over the duration.
    int64_t start_us_ = 0, period_ns_ = 0, base_ns_ = 0, end_ns_ = 0;
    uint64_t index_ = 0;
    uint32_t seq_ = 0; // also the number of ticks sent
    uint64_t skipped_ = 0, late_ = 0, errors_ = 0, calls_sent_ = 0;
    int pending_ = 0;
    bool sending_ = true, done_ = false;
    std::string error_name_, error_message_;
};

guint Stream::add_timeout(guint ms, GSourceFunc fn) {
    return g_timeout_add_full(G_PRIORITY_DEFAULT, ms, fn,
                              new std::shared_ptr<Stream>(shared_from_this()),
                              [](gpointer p) { delete static_cast<std::shared_ptr<Stream> *>(p); });
}

void Stream::start() {
    start_us_ = now_us();
    const int64_t now = mono_ns();
    end_ns_ = now + cfg_.duration_ns;
    uint64_t expected = cfg_.frames;
    if (expected == 0)
        expected =
            static_cast<uint64_t>(cfg_.duration_ns / 1e9 * (cfg_.rate > 0 ? cfg_.rate : 20000));
    stamps_.reserve(std::min<uint64_t>(expected + 2, uint64_t{1} << 22));
    if (cfg_.rate > 0) {
        // A timerfd on absolute CLOCK_MONOTONIC deadlines: g_timeout only has millisecond
        // resolution and drifts, which would blur the latency the benchmark measures.
        timer_.reset(timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC));
        if (!timer_.valid())
            throw CommandError("fake-qemu.Failed", std::string("timerfd: ") + strerror(errno));
    }
    // Nothing can fail from here on: the sources below keep the stream alive until it ends.
    end_source_ = add_timeout(static_cast<guint>((cfg_.duration_ns + 999'999) / 1'000'000), on_end);
    if (cfg_.rate <= 0) {
        pump();
        return;
    }
    period_ns_ = std::max<int64_t>(1, std::llround(1e9 / cfg_.rate));
    base_ns_ = now;
    timer_source_ =
        g_unix_fd_add_full(G_PRIORITY_HIGH, timer_.get(), G_IO_IN, on_timer,
                           new std::shared_ptr<Stream>(shared_from_this()),
                           [](gpointer p) { delete static_cast<std::shared_ptr<Stream> *>(p); });
    arm(base_ns_);
}

void Stream::arm(int64_t deadline_ns) {
    itimerspec spec{};
    spec.it_value.tv_sec = deadline_ns / 1'000'000'000;
    spec.it_value.tv_nsec = deadline_ns % 1'000'000'000;
    if (spec.it_value.tv_sec == 0 && spec.it_value.tv_nsec == 0)
        spec.it_value.tv_nsec = 1; // zero would disarm the timer
    timerfd_settime(timer_.get(), TFD_TIMER_ABSTIME, &spec, nullptr);
}

gboolean Stream::on_timer(gint fd, GIOCondition, gpointer data) {
    auto self = self_of(data);
    uint64_t expirations = 0;
    if (read(fd, &expirations, sizeof expirations) < 0)
        return G_SOURCE_CONTINUE; // EAGAIN: woken without an expiry
    if (self->sending_)
        self->paced_tick();
    return G_SOURCE_CONTINUE;
}

void Stream::paced_tick() {
    if (deadline() >= end_ns_) {
        stop_sending();
        return;
    }
    tick(true);
    if (cfg_.frames != 0 && seq_ >= cfg_.frames) {
        stop_sending();
        return;
    }
    index_++;
    // Late by more than a whole period: one frame goes out at once (the next deadline is in
    // the past) and the schedule restarts from now, instead of a burst of catch-up frames.
    const int64_t now = mono_ns();
    if (deadline() + period_ns_ <= now) {
        base_ns_ = now, index_ = 0;
        late_++;
    }
    arm(deadline());
}

gboolean Stream::on_end(gpointer data) {
    auto self = self_of(data);
    self->end_source_ = 0;
    self->stop_sending();
    return G_SOURCE_REMOVE;
}

gboolean Stream::on_drain(gpointer data) {
    auto self = self_of(data);
    self->drain_source_ = 0;
    self->finish();
    return G_SOURCE_REMOVE;
}

bool Stream::window_open() const {
    bool any = false;
    for (const auto &t : targets_) {
        for (const auto &l : t.con->listeners) {
            any = true;
            auto it = in_flight_.find(l->id);
            if (it != in_flight_.end() && it->second >= cfg_.window)
                return false;
        }
    }
    return any;
}

// rate=0: keeps `window` ticks in flight; called again from every reply.
void Stream::pump() {
    while (sending_ && window_open()) {
        if (!tick(false))
            return;
        if (cfg_.frames != 0 && seq_ >= cfg_.frames)
            stop_sending();
    }
}

bool Stream::tick(bool paced) {
    calls_.clear();
    for (auto &t : targets_) {
        for (const auto &l : t.con->listeners) {
            auto it = in_flight_.find(l->id);
            if (paced && it != in_flight_.end() && it->second >= kMaxInFlight) {
                skipped_++;
                return false;
            }
            calls_.push_back({&t, l});
        }
    }
    if (calls_.empty()) { // every listener went away: nothing to send to
        skipped_++;
        return false;
    }
    const uint32_t seq = ++seq_;
    for (auto &t : targets_)
        paint(t, seq);
    for (const auto &c : calls_)
        send(c, seq);
    calls_.clear(); // do not keep closed listeners alive until the next tick
    return true;
}

void Stream::paint(Target &t, uint32_t seq) {
    Canvas &cv = t.canvas;
    if (cfg_.region == RegionKind::Scroll) {
        cv.scroll(seq);
    } else {
        const Rgba c = seq_colour(seq);
        cv.fill(t.region, cv.word(c.r, c.g, c.b));
    }
    if (cfg_.block_stamp)
        cv.stamp_blocks(t.region.x, t.region.y, seq);
    else
        cv.stamp(t.region.x, t.region.y, seq);
}

void Stream::send(const Call &call, uint32_t seq) {
    const Target &t = *call.target;
    Listener &l = *call.listener;
    const Rect &r = t.region;
    const auto x = static_cast<int32_t>(r.x), y = static_cast<int32_t>(r.y);
    const auto w = static_cast<int32_t>(r.w), h = static_cast<int32_t>(r.h);
    GDBusProxy *proxy = nullptr;
    const char *method = nullptr;
    GVariant *params = nullptr;
    if (t.via_map && l.map_ok && l.map_current) {
        proxy = l.map_proxy.get(), method = "UpdateMap";
        params = g_variant_new("(iiii)", x, y, w, h);
    } else {
        // QEMU's one copy per listener: the rect, tightly packed. reserve + insert: no
        // zero-filling pass before the copy.
        const uint64_t row = uint64_t{r.w} * 4;
        std::vector<uint8_t> data;
        data.reserve(row * r.h);
        const uint8_t *src = t.canvas.base + uint64_t{r.y} * t.canvas.stride + uint64_t{r.x} * 4;
        for (uint32_t i = 0; i < r.h; i++, src += t.canvas.stride)
            data.insert(data.end(), src, src + row);
        proxy = l.proxy.get(), method = "Update";
        params = g_variant_new("(iiiiuu@ay)", x, y, w, h, static_cast<uint32_t>(row), t.format,
                               bytes_variant(std::move(data)));
    }
    if (stamps_.empty() || stamps_.back().seq != seq)
        stamps_.push_back({seq, mono_ns()}); // the tick's first call leaves now
    in_flight_[l.id]++;
    pending_++;
    calls_sent_++;
    g_dbus_proxy_call(proxy, method, params, G_DBUS_CALL_FLAGS_NONE, cfg_.call_timeout_ms, nullptr,
                      on_reply, new Reply{shared_from_this(), l.id});
}

void Stream::on_reply(GObject *source, GAsyncResult *res, gpointer data) {
    std::unique_ptr<Reply> r(static_cast<Reply *>(data));
    g_autoptr(GError) err = nullptr;
    g_autoptr(GVariant) reply = g_dbus_proxy_call_finish(G_DBUS_PROXY(source), res, &err);
    Stream &s = *r->stream;
    s.pending_--;
    if (auto it = s.in_flight_.find(r->listener); it != s.in_flight_.end() && --it->second <= 0)
        s.in_flight_.erase(it);
    if (reply == nullptr) {
        s.errors_++;
        if (s.error_name_.empty())
            describe_error(err, s.error_name_, s.error_message_);
    }
    if (s.sending_ && s.cfg_.rate <= 0)
        s.pump();
    else if (!s.sending_ && s.pending_ == 0)
        s.finish();
}

void Stream::stop_sending() {
    if (!sending_)
        return;
    sending_ = false;
    for (guint *id : {&timer_source_, &end_source_})
        if (*id != 0)
            g_source_remove(std::exchange(*id, 0));
    timer_.reset();
    if (pending_ == 0)
        finish();
    else
        // The replies still out get the calls' own timeout: a late reply on a busy machine is
        // no failure of the stream (QEMU itself waits 25 s).
        drain_source_ = add_timeout(guint(cfg_.call_timeout_ms), on_drain);
}

bool Stream::write_stamps(std::string &message) const {
    std::unique_ptr<FILE, int (*)(FILE *)> f(std::fopen(cfg_.stamps->c_str(), "w"), std::fclose);
    if (!f) {
        message = *cfg_.stamps + ": " + strerror(errno);
        return false;
    }
    for (const Stamp &s : stamps_)
        std::fprintf(f.get(), "%u %lld\n", s.seq, static_cast<long long>(s.ns));
    if (std::ferror(f.get()) != 0 || std::fclose(f.release()) != 0) {
        message = *cfg_.stamps + ": write failed";
        return false;
    }
    return true;
}

void Stream::finish() {
    if (done_)
        return;
    done_ = true;
    if (drain_source_ != 0)
        g_source_remove(std::exchange(drain_source_, 0));
    cmd_->elapsed_us = now_us() - start_us_;
    // What a correct client shows now, for save= and status after the stream.
    for (auto &t : targets_)
        t.con->shadow = t.canvas.to_frame();
    const Rect &r = targets_.front().region;
    Json &x = cmd_->extra;
    x.add("sent", seq_).add("skipped", skipped_).add("late", late_).add("errors", errors_);
    if (error_name_.empty())
        x.add_null("first_error");
    else
        x.add("first_error", error_name_ + ": " + error_message_);
    x.add_raw("region", "[" + std::to_string(r.x) + "," + std::to_string(r.y) + "," +
                            std::to_string(r.w) + "," + std::to_string(r.h) + "]");
    x.add("consoles", static_cast<uint64_t>(targets_.size()));
    x.add("calls", calls_sent_).add("pending", pending_);
    const bool stamps_ok = !cfg_.stamps || write_stamps(error_message_);
    targets_.clear(); // unmaps the memfds
    if (!stamps_ok)
        finish_error(app_, cmd_, "fake-qemu.SaveFailed", error_message_);
    else if (!error_name_.empty())
        finish_error(app_, cmd_, error_name_, error_message_);
    else if (pending_ > 0)
        finish_error(app_, cmd_, "fake-qemu.Timeout",
                     std::to_string(pending_) + " replies still missing after " +
                         std::to_string(cfg_.call_timeout_ms) + " ms");
    else
        finish_ok(app_, cmd_);
}

} // namespace

void cmd_stream(App &app, const CommandPtr &cmd) {
    const Args &a = cmd->args;
    Config cfg;
    cfg.region = parse_region(a.str("region", "full"));
    cfg.rate = number_arg(a, "rate", 0);
    const double duration = number_arg(a, "duration", 3);
    if (duration <= 0 || duration > 86400)
        throw CommandError(kBadCommand, "duration: expected 0 < seconds <= 86400");
    cfg.duration_ns = std::llround(duration * 1e9);
    cfg.frames = a.u32("frames", 0);
    const uint32_t window = a.u32("window", 2);
    if (window < 1 || window > kMaxInFlight)
        throw CommandError(kBadCommand, "window: expected 1..64");
    cfg.window = static_cast<int>(window);
    cfg.call_timeout_ms = static_cast<int>(a.u32("call_timeout", kDefaultTimeoutMs));
    cfg.stamps = a.opt_str("stamps");
    const std::string stamp = a.str("stamp", "pixels");
    if (stamp != "pixels" && stamp != "blocks")
        throw CommandError(kBadCommand, "stamp: expected pixels or blocks");
    cfg.block_stamp = stamp == "blocks";
    const std::string path = a.str("path", "");

    std::vector<Console *> consoles;
    if (a.str("console", "0") == "all") {
        for (auto &c : app.consoles)
            consoles.push_back(c.get());
    } else {
        consoles.push_back(&app.console_arg(a));
    }
    std::vector<Target> targets;
    for (Console *con : consoles) {
        target_listeners(*con); // NoListener before anything is drawn
        targets.push_back(make_target(*con, path, cfg.region));
    }
    auto stream = std::make_shared<Stream>(app, cmd, std::move(cfg), std::move(targets));
    stream->start();
}

} // namespace fakeqemu
