// QEMU's -audiodev dbus side (audio/dbusaudio.c): Audio.RegisterOutListener (and
// RegisterInListener) answered first, then a blocking p2p server handshake and a blocking
// listener proxy (GetAll), then Init replayed for every voice. Playback voices are set up,
// written and played by commands; the record side is in audio_in.cpp.
#include "app.hpp"

#include <cmath>
#include <cstring>
#include <optional>

namespace fakeqemu {

namespace {

constexpr const char *kOutListenerPath = "/org/qemu/Display1/AudioOutListener";
constexpr const char *kInListenerPath = "/org/qemu/Display1/AudioInListener";

// Replies to one command's calls, which finishes once every reply is in.
struct AudioCalls {
    App *app;
    CommandPtr cmd;
    int pending = 0;
    bool sending = true;
    std::string error_name, error_message;

    void maybe_finish() {
        if (sending || pending > 0)
            return;
        if (error_name.empty())
            finish_ok(*app, cmd);
        else
            finish_error(*app, cmd, error_name, error_message);
    }
};

struct CallReply {
    std::shared_ptr<AudioCalls> calls;
};

void on_reply(GObject *source, GAsyncResult *res, gpointer data) {
    std::unique_ptr<CallReply> reply(static_cast<CallReply *>(data));
    g_autoptr(GError) err = nullptr;
    g_autoptr(GVariant) result = g_dbus_proxy_call_finish(G_DBUS_PROXY(source), res, &err);
    AudioCalls &calls = *reply->calls;
    if (!result && calls.error_name.empty())
        describe_error(err, calls.error_name, calls.error_message);
    calls.pending--;
    calls.maybe_finish();
}

// Calls method on every output listener and finishes cmd with the first error, if any.
void call_all(App &app, const CommandPtr &cmd, const char *method, GVariant *params) {
    g_variant_ref_sink(params);
    if (app.audio.listeners.empty()) {
        g_variant_unref(params);
        throw CommandError(kNoListener, "no audio listener");
    }
    auto calls = std::make_shared<AudioCalls>();
    calls->app = &app;
    calls->cmd = cmd;
    for (const auto &listener : app.audio.listeners) {
        calls->pending++;
        g_dbus_proxy_call(listener->proxy.get(), method, params, G_DBUS_CALL_FLAGS_NONE,
                          kDefaultTimeoutMs, nullptr, on_reply, new CallReply{calls});
    }
    g_variant_unref(params);
    cmd->extra.add("listeners", static_cast<uint64_t>(app.audio.listeners.size()));
    calls->sending = false;
    calls->maybe_finish();
}

void check_waiter(App &app);

std::vector<std::shared_ptr<AudioListener>> &listeners_of(App &app, bool input) {
    return input ? app.audio.in_listeners : app.audio.listeners;
}

void on_listener_closed(GDBusConnection *, gboolean, GError *, gpointer data) {
    auto *listener = static_cast<AudioListener *>(data);
    App &app = *listener->app;
    emit(Json()
             .add("event", listener->input ? "audio-in-listener-closed" : "audio-listener-closed")
             .add("listener", listener->id));
    std::erase_if(listeners_of(app, listener->input),
                  [listener](const auto &l) { return l.get() == listener; });
}

// RegisterOutListener and RegisterInListener (dbus_audio_register_listener): one listener per
// sender and direction.
gboolean register_listener(App &app, GDBusMethodInvocation *inv, GUnixFDList *fd_list,
                           GVariant *handle, bool input) {
    const char *sender = g_dbus_method_invocation_get_sender(inv);
    if (!sender && !app.at_least(kV80)) {
        // 7.2 looks the NULL sender up in a string hash table.
        emit(Json()
                 .add("event", "audio-crash")
                 .add("message", input ? "p2p RegisterInListener" : "p2p RegisterOutListener"));
        _exit(139);
    }
    auto &listeners = listeners_of(app, input);
    const std::string key = sender ? sender : "p2p";
    for (const auto &l : listeners) {
        if (l->key == key) {
            g_autofree char *msg = g_strdup_printf("`%s` is already registered!", key.c_str());
            emit(Json().add("event", "audio-listener-rejected").add("message", msg));
            g_dbus_method_invocation_return_dbus_error(inv, "org.qemu.Display1.Error.Failed", msg);
            return TRUE;
        }
    }
    g_autoptr(GError) err = nullptr;
    int fd = fd_list ? g_unix_fd_list_get(fd_list, g_variant_get_handle(handle), &err) : -1;
    if (fd < 0) {
        g_dbus_method_invocation_return_dbus_error(inv, "org.qemu.Display1.Error.Failed",
                                                   "Couldn't get peer fd");
        return TRUE;
    }
    g_autoptr(GSocket) socket = g_socket_new_from_fd(fd, &err);
    if (!socket) {
        close(fd);
        g_dbus_method_invocation_return_dbus_error(inv, "org.qemu.Display1.Error.Failed",
                                                   "Couldn't make a socket");
        return TRUE;
    }
    g_autoptr(GSocketConnection) stream = g_socket_connection_factory_create_connection(socket);
    if (input)
        qemu_display_audio_complete_register_in_listener(app.audio.iface.get(), inv, nullptr);
    else
        qemu_display_audio_complete_register_out_listener(app.audio.iface.get(), inv, nullptr);

    // Both steps block the main loop, as in QEMU.
    g_autofree char *guid = g_dbus_generate_guid();
    GObjPtr<GDBusConnection> conn(g_dbus_connection_new_sync(
        G_IO_STREAM(stream), guid, G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_SERVER, nullptr, nullptr,
        &err));
    if (!conn) {
        emit(Json().add("event", "audio-listener-failed").add("message", err->message));
        return TRUE;
    }
    GObjPtr<GDBusProxy> proxy(g_dbus_proxy_new_sync(
        conn.get(), G_DBUS_PROXY_FLAGS_DO_NOT_AUTO_START,
        input ? nullptr : qemu_display_audio_out_listener_interface_info(), nullptr,
        input ? kInListenerPath : kOutListenerPath,
        input ? "org.qemu.Display1.AudioInListener" : "org.qemu.Display1.AudioOutListener", nullptr,
        &err));
    if (!proxy) {
        emit(Json().add("event", "audio-listener-failed").add("message", err->message));
        return TRUE;
    }
    auto listener = std::make_shared<AudioListener>();
    listener->app = &app;
    listener->id = app.audio.next_listener_id++;
    listener->input = input;
    listener->key = key;
    listener->conn = std::move(conn);
    listener->proxy = std::move(proxy);
    listener->closed_id = g_signal_connect(listener->conn.get(), "closed",
                                           G_CALLBACK(on_listener_closed), listener.get());
    listeners.push_back(listener);
    if (input) {
        replay_capture(app, *listener);
    } else {
        for (const auto &[id, voice] : app.audio.voices)
            g_dbus_proxy_call(listener->proxy.get(), "Init", audio_init_params(id, voice),
                              G_DBUS_CALL_FLAGS_NONE, -1, nullptr, nullptr, nullptr);
    }
    emit(Json()
             .add("event", input ? "audio-in-listener" : "audio-listener")
             .add("listener", listener->id)
             .add("sender", sender)
             .add("voices", static_cast<uint64_t>(app.audio.voices.size())));
    check_waiter(app);
    return TRUE;
}

gboolean on_register_out(QemuDisplayAudio *, GDBusMethodInvocation *inv, GUnixFDList *fd_list,
                         GVariant *handle, gpointer data) {
    return register_listener(*static_cast<App *>(data), inv, fd_list, handle, false);
}

gboolean on_register_in(QemuDisplayAudio *, GDBusMethodInvocation *inv, GUnixFDList *fd_list,
                        GVariant *handle, gpointer data) {
    return register_listener(*static_cast<App *>(data), inv, fd_list, handle, true);
}

// wait-audio-listener: one command at a time, so one waiter.
struct AudioWaiter {
    CommandPtr cmd;
    bool input = false; // waits for an input listener
    guint timeout_id = 0;
};
std::optional<AudioWaiter> audio_waiter;

void check_waiter(App &app) {
    if (!audio_waiter || listeners_of(app, audio_waiter->input).empty())
        return;
    g_source_remove(audio_waiter->timeout_id);
    const auto &listeners = listeners_of(app, audio_waiter->input);
    CommandPtr cmd = audio_waiter->cmd;
    audio_waiter.reset();
    cmd->extra.add("listeners", static_cast<uint64_t>(listeners.size()));
    finish_ok(app, cmd);
}

gboolean on_wait_timeout(gpointer data) {
    App &app = *static_cast<App *>(data);
    CommandPtr cmd = audio_waiter->cmd;
    audio_waiter.reset();
    finish_error(app, cmd, "fake-qemu.Timeout", "timed out waiting for an audio listener");
    return G_SOURCE_REMOVE;
}

AudioVoice &voice_arg(App &app, const CommandPtr &cmd) {
    const uint64_t id = cmd->args.u64("stream", 1);
    auto found = app.audio.voices.find(id);
    if (found == app.audio.voices.end())
        throw CommandError(kBadCommand, "no voice " + std::to_string(id));
    return found->second;
}

// One sample of value (-1 to 1) in the voice's format, appended to out.
void append_sample(const AudioVoice &v, double value, std::vector<uint8_t> &out) {
    uint32_t bits32 = 0;
    const size_t bytes = v.bits / 8;
    if (v.is_float) {
        const float f = static_cast<float>(value);
        std::memcpy(&bits32, &f, sizeof(f));
    } else {
        const double full = std::ldexp(1.0, v.bits - 1) - 1.0;
        const int64_t level = std::llround(value * full);
        const int64_t stored = v.is_signed ? level : level + int64_t(full) + 1;
        bits32 = static_cast<uint32_t>(stored);
    }
    for (size_t i = 0; i < bytes; i++) {
        const size_t shift = v.big_endian ? (bytes - 1 - i) * 8 : i * 8;
        out.push_back(static_cast<uint8_t>(bits32 >> shift));
    }
}

} // namespace

// A tone played on one voice in real time, chunk_ms at a time, as QEMU's mixing timer does.
struct Tone {
    App *app;
    CommandPtr cmd; // finished when the tone ends, unless it was started with wait=0
    uint64_t stream;
    AudioVoice voice;
    double freq, level;
    uint64_t silent_frames = 0; // played first, as an enabled voice writes its silence
    uint64_t frames_total, frames_sent = 0;
    int64_t start_us = 0;
    guint timer = 0;
    uint64_t writes = 0, errors = 0;
    std::string first_error;

    ~Tone() {
        if (timer)
            g_source_remove(timer);
    }
};

namespace {

void on_tone_reply(GObject *source, GAsyncResult *res, gpointer data) {
    App &app = *static_cast<App *>(data);
    g_autoptr(GError) err = nullptr;
    g_autoptr(GVariant) result = g_dbus_proxy_call_finish(G_DBUS_PROXY(source), res, &err);
    if (!result && app.audio.tone) {
        if (app.audio.tone->errors++ == 0)
            app.audio.tone->first_error = err->message;
    }
}

void end_tone(App &app) {
    std::unique_ptr<Tone> tone = std::move(app.audio.tone);
    Json ev;
    ev.add("event", "audio-tone-end").add("writes", tone->writes).add("errors", tone->errors);
    ev.add("frames", tone->frames_sent);
    if (!tone->first_error.empty())
        ev.add("message", tone->first_error);
    emit(ev);
    if (tone->cmd) {
        tone->cmd->extra.add("writes", tone->writes).add("errors", tone->errors);
        if (tone->errors > 0)
            finish_error(app, tone->cmd, "fake-qemu.WriteFailed", tone->first_error);
        else
            finish_ok(app, tone->cmd);
    }
}

gboolean on_tone_tick(gpointer data) {
    App &app = *static_cast<App *>(data);
    Tone &tone = *app.audio.tone;
    const int64_t elapsed = now_us() - tone.start_us;
    const uint64_t due = std::min<uint64_t>(
        tone.frames_total, static_cast<uint64_t>(elapsed) * tone.voice.rate / G_USEC_PER_SEC);
    if (due > tone.frames_sent) {
        std::vector<uint8_t> data;
        for (uint64_t frame = tone.frames_sent; frame < due; frame++) {
            const double t = double(frame) / tone.voice.rate;
            const double value = frame < tone.silent_frames
                                     ? 0.0
                                     : tone.level * std::sin(2.0 * M_PI * tone.freq * t);
            for (unsigned c = 0; c < tone.voice.channels; c++)
                append_sample(tone.voice, value, data);
        }
        tone.frames_sent = due;
        for (const auto &listener : app.audio.listeners) {
            tone.writes++;
            g_dbus_proxy_call(listener->proxy.get(), "Write",
                              g_variant_new("(t@ay)", tone.stream, bytes_variant(data)),
                              G_DBUS_CALL_FLAGS_NONE, -1, nullptr, on_tone_reply, &app);
        }
    }
    if (tone.frames_sent < tone.frames_total)
        return G_SOURCE_CONTINUE;
    tone.timer = 0;
    end_tone(app);
    return G_SOURCE_REMOVE;
}

} // namespace

AudioState::AudioState() = default;
AudioState::~AudioState() = default;

AudioListener::~AudioListener() {
    if (conn && closed_id)
        g_signal_handler_disconnect(conn.get(), closed_id);
}

void create_audio(App &app) {
    if (!app.opts.audio)
        return;
    app.audio.object.reset(g_dbus_object_skeleton_new("/org/qemu/Display1/Audio"));
    GType type = QEMU_DISPLAY_TYPE_AUDIO_SKELETON;
    if (!app.at_least(kV81))
        type = legacy_type(type, qemu_display_audio_interface_info(), "Interfaces");
    app.audio.iface.reset(static_cast<QemuDisplayAudio *>(g_object_new(type, nullptr)));
    if (app.at_least(kV81)) {
        const char *const none[] = {nullptr};
        qemu_display_audio_set_interfaces(app.audio.iface.get(), none);
    }
    qemu_display_audio_set_nsamples(app.audio.iface.get(), 480);
    g_signal_connect(app.audio.iface.get(), "handle-register-out-listener",
                     G_CALLBACK(on_register_out), &app);
    g_signal_connect(app.audio.iface.get(), "handle-register-in-listener",
                     G_CALLBACK(on_register_in), &app);
    g_dbus_object_skeleton_add_interface(app.audio.object.get(),
                                         G_DBUS_INTERFACE_SKELETON(app.audio.iface.get()));
    g_dbus_object_manager_server_export(app.server.get(), app.audio.object.get());
}

void cmd_wait_audio_listener(App &app, const CommandPtr &cmd) {
    if (!app.opts.audio)
        throw CommandError(kNotSupported, "started without --audio");
    audio_waiter = AudioWaiter{cmd, cmd->args.flag("input", false), 0};
    const uint32_t seconds = cmd->args.u32("timeout", 10);
    audio_waiter->timeout_id = g_timeout_add_seconds(seconds, on_wait_timeout, &app);
    check_waiter(app);
}

AudioVoice audio_voice_from_args(const Args &a) {
    AudioVoice v;
    v.bits = static_cast<uint8_t>(a.u32("bits", 16));
    v.is_float = a.flag("float", false);
    v.is_signed = a.flag("signed", true);
    v.big_endian = a.flag("be", false);
    v.rate = a.u32("rate", 48000);
    v.channels = static_cast<uint8_t>(a.u32("channels", 2));
    v.bytes_per_frame = a.u32("bytes_per_frame", uint32_t(v.bits / 8) * v.channels);
    v.bytes_per_second = a.u32("bytes_per_second", v.rate * v.bytes_per_frame);
    return v;
}

GVariant *audio_init_params(uint64_t id, const AudioVoice &v) {
    return g_variant_new("(tybbuyuub)", id, v.bits, v.is_signed, v.is_float, v.rate, v.channels,
                         v.bytes_per_frame, v.bytes_per_second, v.big_endian);
}

GVariant *audio_volume_params(uint64_t id, const Args &args) {
    std::vector<uint8_t> levels;
    for (uint32_t level : args.u32_list("levels"))
        levels.push_back(static_cast<uint8_t>(level));
    return g_variant_new("(tb@ay)", id, args.flag("mute", false), bytes_variant(levels));
}

void cmd_audio_init(App &app, const CommandPtr &cmd) {
    const AudioVoice v = audio_voice_from_args(cmd->args);
    const uint64_t id = cmd->args.u64("stream", 1);
    app.audio.voices[id] = v;
    call_all(app, cmd, "Init", audio_init_params(id, v));
}

void cmd_audio_fini(App &app, const CommandPtr &cmd) {
    const uint64_t id = cmd->args.u64("stream", 1);
    app.audio.voices.erase(id);
    if (app.audio.tone && app.audio.tone->stream == id)
        end_tone(app);
    call_all(app, cmd, "Fini", g_variant_new("(t)", id));
}

void cmd_audio_enable(App &app, const CommandPtr &cmd) {
    call_all(app, cmd, "SetEnabled",
             g_variant_new("(tb)", cmd->args.u64("stream", 1), cmd->args.flag("enabled", true)));
}

void cmd_audio_volume(App &app, const CommandPtr &cmd) {
    call_all(app, cmd, "SetVolume", audio_volume_params(cmd->args.u64("stream", 1), cmd->args));
}

void cmd_audio_write(App &app, const CommandPtr &cmd) {
    std::vector<uint8_t> data(cmd->args.u32("len"), 0);
    call_all(app, cmd, "Write",
             g_variant_new("(t@ay)", cmd->args.u64("stream", 1), bytes_variant(std::move(data))));
}

void cmd_audio_tone(App &app, const CommandPtr &cmd) {
    const Args &a = cmd->args;
    if (app.audio.tone)
        throw CommandError(kBadCommand, "a tone is playing");
    auto tone = std::make_unique<Tone>();
    tone->app = &app;
    tone->stream = a.u64("stream", 1);
    tone->voice = voice_arg(app, cmd);
    if (tone->voice.bits != 8 && tone->voice.bits != 16 && tone->voice.bits != 32)
        throw CommandError(kBadCommand, "a tone needs 8, 16 or 32 bits");
    tone->freq = std::stod(a.str("freq", "440"));
    tone->level = std::stod(a.str("level", "0.5"));
    const double duration = std::stod(a.str("duration", "1"));
    const uint32_t silence_ms = a.u32("silence_ms", 0);
    tone->silent_frames = uint64_t(silence_ms) * tone->voice.rate / 1000;
    tone->frames_total = tone->silent_frames + static_cast<uint64_t>(duration * tone->voice.rate);
    tone->start_us = now_us();
    const bool wait = a.flag("wait", true);
    if (wait)
        tone->cmd = cmd;
    tone->timer = g_timeout_add(a.u32("chunk_ms", 10), on_tone_tick, &app);
    app.audio.tone = std::move(tone);
    cmd->extra.add("start_us", app.audio.tone->start_us);
    // When the tone's first sample is due (after the silence).
    cmd->extra.add("onset_us", app.audio.tone->start_us + int64_t(silence_ms) * 1000);
    if (!wait)
        finish_ok(app, cmd);
}

void cmd_audio_stop(App &app, const CommandPtr &cmd) {
    if (app.audio.tone)
        end_tone(app);
    finish_ok(app, cmd);
}

void drop_audio_listeners(App &app) {
    app.audio.tone.reset();
    app.audio.capture.reset();
    app.audio.listeners.clear();
    app.audio.in_listeners.clear();
}

} // namespace fakeqemu
