// `hostile`: drives a HostileRun for a while, waits for its replies, then sends one valid
// Scanout and reports what was sent and how the client answered.
#include "hostile.hpp"

#include <random>

namespace fakeqemu {

namespace {

constexpr int64_t kDrainUs = 30 * G_USEC_PER_SEC; // replies time out after 25 s at the most

struct HostileDriver {
    HostileDriver(App &a, CommandPtr c) : app(a), cmd(std::move(c)) {}
    App &app;
    CommandPtr cmd;
    std::shared_ptr<HostileRun> run;
    uint64_t seed = 0;
    std::vector<unsigned> consoles;
    int64_t end_us = 0, drain_end_us = 0;
    int window = 32;
    uint64_t steps = 0, waited = 0;
};

Json counts(const std::map<std::string, uint64_t> &by_method) {
    Json out;
    for (const auto &[method, n] : by_method)
        out.add(method, n);
    return out;
}

void report(HostileDriver &d) {
    const HostileStats &st = d.run->stats();
    Json &x = d.cmd->extra;
    x.add("seed", d.seed).add("steps", d.steps).add("window_full", d.waited);
    x.add_raw("sent", counts(st.sent).str()).add_raw("rejected", counts(st.rejected).str());
    x.add("timeouts", st.timeouts).add("late_for_qemu", st.late_for_qemu);
    x.add("closed", st.closed);
    x.add("unanswered", static_cast<int64_t>(d.run->pending()));
    x.add("slowest_reply_us", st.slowest_reply_us);
    x.add("slowest_waited_reply_us", st.slowest_waited_reply_us);
    x.add("longest_step_us", st.longest_step_us);
    x.add("resized", st.resized).add("vanished", st.vanished).add("shrunk", st.shrunk);
}

// The one valid frame at the end: a random:SEED picture on every driven console.
void final_scanout(HostileDriver &d) {
    const Args &a = d.cmd->args;
    const uint32_t w = a.u32("final_width", 320), h = a.u32("final_height", 240);
    const Pattern pat = Pattern::parse("random:" + std::to_string(d.seed));
    auto batch = CallBatch::create(d.app, d.cmd);
    for (unsigned index : d.consoles) {
        Console &con = *d.app.consoles[index];
        auto listeners = target_listeners(con);
        g_autoptr(GVariant) params = g_variant_ref_sink(prepare_scanout(
            d.cmd, con, ScanoutParams{w, h, w * 4, kPixmanX8R8G8B8, uint64_t{w} * h * 4}, pat));
        for (const auto &l : listeners)
            batch->call(l, l->proxy.get(), "Scanout", params);
    }
    batch->done_sending();
}

gboolean on_tick(gpointer data) {
    auto &d = *static_cast<HostileDriver *>(data);
    const int64_t now = now_us();
    if (now < d.end_us) {
        if (d.run->pending() >= d.window) {
            d.waited++;
            return G_SOURCE_CONTINUE;
        }
        d.run->step();
        d.steps++;
        d.run->note_step(now_us() - now);
        return G_SOURCE_CONTINUE;
    }
    d.run->reappear_all();
    if (d.run->pending() > 0 && now < d.drain_end_us)
        return G_SOURCE_CONTINUE;
    std::unique_ptr<HostileDriver> owned(&d);
    report(d);
    try {
        final_scanout(d);
    } catch (const CommandError &e) {
        finish_error(d.app, d.cmd, e.name, e.what());
    }
    return G_SOURCE_REMOVE;
}

} // namespace

void cmd_hostile(App &app, const CommandPtr &cmd) {
    const Args &a = cmd->args;
    auto d = std::make_unique<HostileDriver>(app, cmd);
    d->seed = a.has("seed") ? a.u64("seed")
                            : std::random_device{}() | uint64_t{std::random_device{}()} << 32;
    const uint32_t seconds = a.u32("duration", 10);
    d->window = static_cast<int>(std::max(1u, a.u32("window", 32)));
    if (a.str("console", "0") == "all") {
        for (unsigned i = 0; i < app.consoles.size(); i++)
            d->consoles.push_back(i);
    } else {
        d->consoles.push_back(app.console_arg(a).index);
    }
    for (unsigned i : d->consoles)
        target_listeners(*app.consoles[i]);
    // Printed first, so that a run that kills the client can be replayed.
    emit(Json().add("event", "hostile-seed").add("seed", d->seed).add("duration", seconds));
    d->run = std::make_shared<HostileRun>(app, d->seed, d->consoles);
    d->end_us = now_us() + int64_t{seconds} * G_USEC_PER_SEC;
    d->drain_end_us = d->end_us + kDrainUs;
    g_timeout_add(1, on_tick, d.release());
}

} // namespace fakeqemu
