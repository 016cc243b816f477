// The record side of QEMU's -audiodev dbus (audio/dbusaudio.c, dbus_*_in): a pretend sound
// device whose recording voice asks every input listener for each period's bytes with a
// blocking Read, as QEMU's audio timer does, and what the answers hold (level, frequency).
#include "app.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <span>

namespace fakeqemu {

using vmcast::GVariantPtr;

namespace {

constexpr unsigned kKeptSeconds = 30;
constexpr unsigned kMaxReadsPerTick = 5; // more periods due are skipped (counted in "late")

std::vector<std::shared_ptr<AudioListener>> in_listeners(App &app) {
    if (!app.opts.audio)
        throw CommandError(kNotSupported, "started without --audio");
    if (app.audio.in_listeners.empty())
        throw CommandError(kNoListener, "no audio input listener");
    return app.audio.in_listeners; // a copy, alive through the blocking calls
}

// A blocking call with a 5 s timeout: the reply, or null and the D-Bus error message.
GVariantPtr call_sync(AudioListener &listener, const char *method, GVariant *params,
                      std::string &error_name, std::string &error) {
    g_autoptr(GError) err = nullptr;
    GVariantPtr reply(g_dbus_proxy_call_sync(listener.proxy.get(), method, params,
                                             G_DBUS_CALL_FLAGS_NONE, kDefaultTimeoutMs, nullptr,
                                             &err));
    if (!reply)
        describe_error(err, error_name, error);
    return reply;
}

// The "ay" of a Read reply, or null (and error set) when the reply is not "(ay)".
GVariantPtr read_data(GVariant *reply, std::string &error) {
    if (g_variant_is_of_type(reply, G_VARIANT_TYPE("(ay)")))
        return GVariantPtr(g_variant_get_child_value(reply, 0));
    error = std::string("a Read reply of type ") + g_variant_get_type_string(reply);
    return nullptr;
}

std::span<const uint8_t> bytes_of(GVariant *ay) {
    size_t size = 0;
    const void *data = g_variant_get_fixed_array(ay, &size, 1);
    return {static_cast<const uint8_t *>(data), size};
}

bool decodable(const AudioVoice &v) {
    const bool int_bits = v.bits == 8 || v.bits == 16 || v.bits == 32;
    return (v.is_float ? v.bits == 32 : int_bits) && v.channels > 0 && v.rate > 0 &&
           v.bytes_per_frame == uint32_t(v.bits / 8) * v.channels;
}

// One sample (-1 to 1) of a decodable format.
double decode_sample(const AudioVoice &v, const uint8_t *p) {
    const size_t bytes = v.bits / 8;
    uint32_t bits32 = 0;
    for (size_t i = 0; i < bytes; i++) {
        const size_t shift = v.big_endian ? (bytes - 1 - i) * 8 : i * 8;
        bits32 |= uint32_t(p[i]) << shift;
    }
    if (v.is_float) {
        float f = 0;
        std::memcpy(&f, &bits32, sizeof(f));
        return f;
    }
    const double half = std::ldexp(1.0, v.bits - 1);
    if (!v.is_signed)
        return (double(bits32) - half) / half;
    const int64_t sign_bit = int64_t{1} << (v.bits - 1);
    const int64_t value = (int64_t(bits32) ^ sign_bit) - sign_bit; // sign-extended
    return double(value) / half;
}

void keep_frames(Capture &c, std::span<const uint8_t> data) {
    const AudioVoice &v = c.voice;
    const size_t sample_bytes = v.bits / 8;
    for (size_t at = 0; at + v.bytes_per_frame <= data.size(); at += v.bytes_per_frame) {
        double sum = 0, squares = 0;
        for (unsigned ch = 0; ch < v.channels; ch++) {
            const double s = decode_sample(v, &data[at + ch * sample_bytes]);
            sum += s;
            squares += s * s;
        }
        c.mix.push_back(float(sum / v.channels));
        c.power.push_back(float(squares / v.channels));
        c.frames++;
    }
    const size_t kept = size_t{kKeptSeconds} * v.rate;
    while (c.mix.size() > kept) {
        c.mix.pop_front();
        c.power.pop_front();
    }
}

// One period: Read on every input listener; the first full answer's frames are kept (QEMU
// takes the first listener that answers).
void read_period(App &app, Capture &c) {
    bool kept = false;
    for (const auto &listener : app.audio.in_listeners) {
        std::string name, error;
        const int64_t sent = now_us();
        GVariantPtr reply = call_sync(*listener, "Read",
                                      g_variant_new("(tt)", c.stream, c.period_bytes), name, error);
        c.max_reply_ms = std::max(c.max_reply_ms, double(now_us() - sent) / 1000.0);
        c.reads++;
        GVariantPtr data = reply ? read_data(reply.get(), error) : nullptr;
        if (!data) {
            c.failed_reads++;
            if (c.first_error.empty())
                c.first_error = error;
            continue;
        }
        const std::span<const uint8_t> bytes = bytes_of(data.get());
        if (bytes.size() < c.period_bytes)
            c.short_reads++;
        if (!kept)
            keep_frames(c, bytes.first(std::min<size_t>(bytes.size(), c.period_bytes)));
        kept = true;
    }
}

gboolean on_capture_tick(gpointer data) {
    App &app = *static_cast<App *>(data);
    Capture &c = *app.audio.capture;
    const uint64_t due = uint64_t(now_us() - c.start_us) / (uint64_t{c.period_ms} * 1000);
    if (due > c.periods_done + kMaxReadsPerTick) {
        c.late += due - c.periods_done - kMaxReadsPerTick;
        c.periods_done = due - kMaxReadsPerTick;
    }
    for (; c.periods_done < due; c.periods_done++)
        read_period(app, c);
    return G_SOURCE_CONTINUE;
}

// The strongest frequency from 20 Hz to 4 kHz in 5 Hz steps (Goertzel), 0 in silence.
double peak_hz(const std::vector<float> &samples, uint32_t rate) {
    double best = 0, best_power = 1e-9 * double(samples.size()) * double(samples.size());
    for (double f = 20; f <= 4000; f += 5) {
        const double coeff = 2 * std::cos(2 * M_PI * f / rate);
        double s1 = 0, s2 = 0;
        for (float v : samples) {
            const double s0 = v + coeff * s1 - s2;
            s2 = s1;
            s1 = s0;
        }
        const double power = s1 * s1 + s2 * s2 - coeff * s1 * s2;
        if (power > best_power) {
            best_power = power;
            best = f;
        }
    }
    return best;
}

} // namespace

void replay_capture(App &app, AudioListener &listener) {
    const Capture *c = app.audio.capture.get();
    if (c == nullptr || !c->timer)
        return;
    call_no_reply(listener.proxy.get(), "Init", audio_init_params(c->stream, c->voice));
    call_no_reply(listener.proxy.get(), "SetEnabled", g_variant_new("(tb)", c->stream, TRUE));
}

void cmd_audio_in_start(App &app, const CommandPtr &cmd) {
    const Args &a = cmd->args;
    const auto listeners = in_listeners(app);
    auto c = std::make_unique<Capture>();
    c->stream = a.u64("stream", 1);
    c->voice = audio_voice_from_args(a);
    if (!decodable(c->voice))
        throw CommandError(kBadCommand, "audio-in-start records 8, 16 or 32-bit integers or "
                                        "32-bit floats, whole frames, at least one channel");
    c->period_ms = std::max<uint32_t>(1, a.u32("period_ms", 10));
    c->period_bytes = uint64_t{c->voice.rate} * c->period_ms / 1000 * c->voice.bytes_per_frame;
    app.audio.capture.reset();
    std::string name, error;
    for (const auto &listener : listeners) {
        const bool ok =
            call_sync(*listener, "Init", audio_init_params(c->stream, c->voice), name, error) &&
            call_sync(*listener, "SetEnabled", g_variant_new("(tb)", c->stream, TRUE), name, error);
        if (!ok)
            return finish_error(app, cmd, name, error);
    }
    c->start_us = now_us();
    c->timer = vmcast::attach_timeout(c->period_ms, on_capture_tick, &app);
    cmd->extra.add("listeners", static_cast<uint64_t>(listeners.size()))
        .add("period_bytes", c->period_bytes);
    app.audio.capture = std::move(c);
    finish_ok(app, cmd);
}

void cmd_audio_in_stats(App &app, const CommandPtr &cmd) {
    const Capture *c = app.audio.capture.get();
    if (c == nullptr)
        throw CommandError(kBadCommand, "no recording: audio-in-start first");
    const uint64_t last_ms = cmd->args.u32("last_ms", 1000);
    const size_t n = std::min<size_t>(c->mix.size(), last_ms * c->voice.rate / 1000);
    const std::vector<float> window(c->mix.end() - ptrdiff_t(n), c->mix.end());
    double power = 0;
    for (auto it = c->power.end() - ptrdiff_t(n); it != c->power.end(); ++it)
        power += *it;
    Json &out = cmd->extra;
    out.add("listeners", static_cast<uint64_t>(app.audio.in_listeners.size()))
        .add("recording", bool(c->timer))
        .add("reads", c->reads)
        .add("short_reads", c->short_reads)
        .add("failed_reads", c->failed_reads)
        .add("late", c->late)
        .add("frames", c->frames)
        .add("window_frames", static_cast<uint64_t>(n))
        .add("rms", n > 0 ? std::sqrt(power / double(n)) : 0.0)
        .add("peak_hz", peak_hz(window, c->voice.rate))
        .add("max_reply_ms", c->max_reply_ms);
    if (c->first_error.empty())
        out.add_null("first_error");
    else
        out.add("first_error", c->first_error);
    finish_ok(app, cmd);
}

void cmd_audio_in_stop(App &app, const CommandPtr &cmd) {
    Capture *c = app.audio.capture.get();
    if (c == nullptr || !c->timer)
        return finish_ok(app, cmd);
    c->timer.reset();
    const auto listeners = app.audio.in_listeners;
    std::string name, error;
    for (const auto &listener : listeners) {
        const bool ok = call_sync(*listener, "SetEnabled", g_variant_new("(tb)", c->stream, FALSE),
                                  name, error) &&
                        call_sync(*listener, "Fini", g_variant_new("(t)", c->stream), name, error);
        if (!ok)
            return finish_error(app, cmd, name, error);
    }
    finish_ok(app, cmd);
}

void cmd_audio_in_call(App &app, const CommandPtr &cmd) {
    const Args &a = cmd->args;
    const auto listeners = in_listeners(app);
    const Capture *c = app.audio.capture.get();
    const uint64_t stream = a.u64("stream", c ? c->stream : 1);
    const std::string method = a.str("method");
    GVariantPtr params;
    if (method == "Read")
        params.reset(g_variant_new("(tt)", stream, a.u64("size", c ? c->period_bytes : 1920)));
    else if (method == "Init")
        params.reset(audio_init_params(stream, audio_voice_from_args(a)));
    else if (method == "Fini")
        params.reset(g_variant_new("(t)", stream));
    else if (method == "SetEnabled")
        params.reset(g_variant_new("(tb)", stream, a.flag("enabled", true)));
    else if (method == "SetVolume")
        params.reset(audio_volume_params(stream, a));
    else
        throw CommandError(kBadCommand, "method: expected Read, Init, Fini, SetEnabled or "
                                        "SetVolume");
    g_variant_ref_sink(params.get());
    std::string results;
    for (const auto &listener : listeners) {
        std::string name, error;
        GVariantPtr reply = call_sync(*listener, method.c_str(), params.get(), name, error);
        GVariantPtr data = reply && method == "Read" ? read_data(reply.get(), error) : nullptr;
        const bool ok = reply && (method != "Read" || data);
        Json result;
        result.add("listener", listener->id).add("ok", ok);
        if (data) {
            const auto bytes = bytes_of(data.get());
            // Silence is zeros in the formats tests record in: the rest is sound.
            result.add("bytes", static_cast<uint64_t>(bytes.size()))
                .add("sound_bytes", static_cast<uint64_t>(std::count_if(
                                        bytes.begin(), bytes.end(), [](uint8_t b) { return b; })));
        }
        if (!ok)
            result.add("error", error).add("name", name);
        results += (results.empty() ? "" : ",") + result.str();
    }
    cmd->extra.add_raw("results", "[" + results + "]");
    finish_ok(app, cmd);
}

} // namespace fakeqemu
