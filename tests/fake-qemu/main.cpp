// vmcast-fake-qemu: a stand-in for QEMU's "-display dbus" side, driven by commands on stdin.
// See README.md in this folder for the options, the commands and the output lines.
#include "app.hpp"

#include <gio/gunixinputstream.h>

#include <csignal>
#include <unistd.h>
#include <cstdio>
#include <cstring>

namespace fakeqemu {
namespace {

using Handler = void (*)(App &, const CommandPtr &);

struct Verb {
    const char *name;
    Handler fn;
    std::vector<std::string> keys;
};

void cmd_wait(App &app, const CommandPtr &cmd) {
    cmd_wait_listener(app, cmd, false);
}
void cmd_wait_none(App &app, const CommandPtr &cmd) {
    cmd_wait_listener(app, cmd, true);
}
void cmd_quit(App &app, const CommandPtr &cmd) {
    finish_ok(app, cmd);
    g_main_loop_quit(app.loop);
}

const std::vector<Verb> &verbs() {
    const std::string c = "console";
    const std::vector<std::string> calls = {"nowait", "call_timeout"};
    auto with = [&](std::vector<std::string> keys, bool listener_call = true) {
        keys.push_back(c);
        if (listener_call)
            keys.insert(keys.end(), calls.begin(), calls.end());
        return keys;
    };
    // A voice's format (audio-init, audio-in-start, audio-in-call).
    auto with_format = [](std::vector<std::string> keys) {
        for (const char *k : {"stream", "bits", "signed", "float", "be", "rate", "channels",
                              "bytes_per_frame", "bytes_per_second"})
            keys.emplace_back(k);
        return keys;
    };
    static const std::vector<Verb> table = {
        {"wait-listener", cmd_wait, with({"timeout", "count"}, false)},
        {"wait-no-listener", cmd_wait_none, with({"timeout"}, false)},
        {"scanout", cmd_scanout,
         with({"width", "height", "stride", "format", "pattern", "len", "save", "count"})},
        {"update", cmd_update,
         with(
             {"x", "y", "width", "height", "stride", "format", "pattern", "len", "save", "count"})},
        {"cursor", cmd_cursor,
         with({"width", "height", "hot_x", "hot_y", "pattern", "len", "save", "count"})},
        {"mouse-set", cmd_mouse_set, with({"x", "y", "on", "count"})},
        {"set-size", cmd_set_size, with({"width", "height", "save"}, false)},
        {"set-absolute", cmd_set_absolute, with({"value"}, false)},
        {"set-modifiers", cmd_set_modifiers, with({"value"}, false)},
        {"set-ui-info", cmd_set_ui_info, with({"supported"}, false)},
        {"scanout-dmabuf", cmd_scanout_dmabuf,
         with({"width", "height", "stride", "fourcc", "modifier", "y0_top", "pattern", "fd", "size",
               "save", "force_v1", "sealed"})},
        {"truncate-dmabuf", cmd_truncate_dmabuf, with({"size"}, false)},
        {"update-dmabuf", cmd_update_dmabuf,
         with({"x", "y", "width", "height", "pattern", "save"})},
        {"scanout-dmabuf2", cmd_scanout_dmabuf2,
         with({"x", "y", "width", "height", "backing_width", "backing_height", "fourcc", "modifier",
               "num_planes", "offsets", "strides", "sizes", "same_fd", "y0_top", "pattern", "fd",
               "save"})},
        {"scanout-map", cmd_scanout_map,
         with({"width", "height", "stride", "format", "offset", "pattern", "size", "truncate-after",
               "save"})},
        {"update-map", cmd_update_map, with({"x", "y", "width", "height", "pattern", "save"})},
        {"truncate-map", cmd_truncate_map, with({"size"}, false)},
        {"stream", cmd_stream,
         with({"path", "region", "rate", "duration", "frames", "window", "stamps", "stamp",
               "call_timeout"},
              false)},
        {"disable", cmd_disable, with({})},
        {"hostile", cmd_hostile,
         with({"seed", "duration", "window", "final_width", "final_height", "save"}, false)},
        {"clipboard-guest-copy",
         cmd_clipboard_guest_copy,
         {"text_hex", "size", "mime", "offer", "serial"}},
        {"clipboard-guest-paste", cmd_clipboard_guest_paste, {}},
        {"clipboard-reset", cmd_clipboard_reset, {}},
        {"save", cmd_save, with({"path", "what"}, false)},
        {"status", cmd_status, {}},
        {"sleep", cmd_sleep, {"ms"}},
        {"wait-audio-listener", cmd_wait_audio_listener, {"timeout", "input"}},
        {"audio-init", cmd_audio_init, with_format({})},
        {"audio-fini", cmd_audio_fini, {"stream"}},
        {"audio-enable", cmd_audio_enable, {"stream", "enabled"}},
        {"audio-volume", cmd_audio_volume, {"stream", "mute", "levels"}},
        {"audio-write", cmd_audio_write, {"stream", "len"}},
        {"audio-tone",
         cmd_audio_tone,
         {"stream", "freq", "level", "duration", "wait", "chunk_ms", "silence_ms"}},
        {"audio-stop", cmd_audio_stop, {}},
        {"audio-in-start", cmd_audio_in_start, with_format({"period_ms"})},
        {"audio-in-stats", cmd_audio_in_stats, {"last_ms"}},
        {"audio-in-stop", cmd_audio_in_stop, {}},
        {"audio-in-call", cmd_audio_in_call,
         with_format({"method", "size", "enabled", "mute", "levels"})},
        {"quit", cmd_quit, {}},
    };
    return table;
}

std::string id_as_json(const std::string &id) {
    bool numeric = !id.empty() && id.size() < 16 && id[0] != '0';
    for (char ch : id)
        numeric = numeric && ch >= '0' && ch <= '9';
    return numeric || id == "0" ? id : Json::quote(id);
}

void run_line(App &app, const std::string &line) {
    auto cmd = std::make_shared<CommandRun>();
    cmd->start_us = now_us();
    try {
        cmd->args = Args::parse(line, cmd->verb);
        if (auto id = cmd->args.opt_str("id"))
            cmd->id_json = id_as_json(*id);
        const Verb *verb = nullptr;
        for (const auto &v : verbs())
            if (cmd->verb == v.name)
                verb = &v;
        if (verb == nullptr)
            throw CommandError(kBadCommand, "unknown command '" + cmd->verb + "'");
        for (const auto &k : verb->keys)
            cmd->args.accept(k);
        cmd->args.check_all_used();
        verb->fn(app, cmd);
    } catch (const CommandError &e) {
        finish_error(app, cmd, e.name, e.what());
    } catch (const std::exception &e) {
        finish_error(app, cmd, "fake-qemu.Failed", e.what());
    }
}

struct StdinReader {
    App *app = nullptr;
    GObjPtr<GDataInputStream> in;
};

void read_next(StdinReader &r);

void on_line(GObject *source, GAsyncResult *res, gpointer data) {
    auto &r = *static_cast<StdinReader *>(data);
    g_autoptr(GError) err = nullptr;
    gsize len = 0;
    g_autofree char *line =
        g_data_input_stream_read_line_finish(G_DATA_INPUT_STREAM(source), res, &len, &err);
    if (line == nullptr) { // EOF or error
        g_main_loop_quit(r.app->loop);
        return;
    }
    g_strstrip(line);
    if (line[0] == '\0' || line[0] == '#') {
        read_next(r);
        return;
    }
    run_line(*r.app, line);
}

void read_next(StdinReader &r) {
    g_data_input_stream_read_line_async(r.in.get(), G_PRIORITY_DEFAULT, nullptr, on_line, &r);
}

// Exits at once, even while blocked in a synchronous D-Bus call (the listener handshake can
// block forever, as in QEMU). Every output line is already flushed.
void on_terminate(int) {
    _exit(0);
}

int parse_version(const char *text, std::string &normalized) {
    unsigned major = 0, minor = 0;
    if (text == nullptr || std::sscanf(text, "%u.%u", &major, &minor) != 2 || major < 7 ||
        minor > 99)
        return -1;
    normalized = std::to_string(major) + "." + std::to_string(minor);
    return static_cast<int>(major * 100 + minor);
}

bool parse_options(int argc, char **argv, Options &o) {
    g_autofree char *address = nullptr, *name = nullptr, *uuid = nullptr, *version = nullptr;
    gint consoles = 1, p2p_fd = -1, width = 640, height = 480;
    gboolean absolute = FALSE;
    gboolean audio = FALSE;
    GOptionEntry entries[] = {
        {"address", 0, 0, G_OPTION_ARG_STRING, &address, "D-Bus address (default: session bus)",
         "ADDR"},
        {"name", 0, 0, G_OPTION_ARG_STRING, &name, "VM name", "NAME"},
        {"uuid", 0, 0, G_OPTION_ARG_STRING, &uuid, "VM UUID", "UUID"},
        {"consoles", 0, 0, G_OPTION_ARG_INT, &consoles, "Number of consoles (1)", "N"},
        {"qemu-version", 0, 0, G_OPTION_ARG_STRING, &version, "7.2 (default) ... 10.1", "V"},
        {"p2p-fd", 0, 0, G_OPTION_ARG_INT, &p2p_fd, "Serve one p2p connection on this fd", "FD"},
        {"width", 0, 0, G_OPTION_ARG_INT, &width, "Initial console width (640)", "W"},
        {"height", 0, 0, G_OPTION_ARG_INT, &height, "Initial console height (480)", "H"},
        {"absolute", 0, 0, G_OPTION_ARG_NONE, &absolute, "Mouse.IsAbsolute starts true", nullptr},
        {"audio", 0, 0, G_OPTION_ARG_NONE, &audio, "Export Audio (-audiodev dbus)", nullptr},
        {nullptr, 0, 0, G_OPTION_ARG_NONE, nullptr, nullptr, nullptr},
    };
    g_autoptr(GOptionContext) ctx = g_option_context_new("- fake QEMU -display dbus peer");
    g_option_context_add_main_entries(ctx, entries, nullptr);
    g_autoptr(GError) err = nullptr;
    if (!g_option_context_parse(ctx, &argc, &argv, &err)) {
        std::fprintf(stderr, "vmcast-fake-qemu: %s\n", err->message);
        return false;
    }
    if (version != nullptr) {
        o.version = parse_version(version, o.version_text);
        if (o.version < 0) {
            std::fprintf(stderr, "vmcast-fake-qemu: bad --qemu-version '%s'\n", version);
            return false;
        }
    }
    if (consoles < 1 || consoles > 64 || width < 1 || height < 1) {
        std::fprintf(stderr, "vmcast-fake-qemu: bad --consoles/--width/--height\n");
        return false;
    }
    o.address = address ? address : "";
    o.name = name ? name : "QEMU " + o.version_text + " (vmcast-fake-qemu)";
    if (uuid)
        o.uuid = uuid;
    o.consoles = static_cast<unsigned>(consoles);
    o.p2p_fd = p2p_fd;
    o.width = static_cast<uint32_t>(width), o.height = static_cast<uint32_t>(height);
    o.absolute = absolute;
    o.audio = audio;
    return true;
}

} // namespace
} // namespace fakeqemu

int main(int argc, char **argv) {
    using namespace fakeqemu;
    std::signal(SIGPIPE, SIG_IGN);
    App app;
    if (!parse_options(argc, argv, app.opts))
        return 2;
    g_autoptr(GMainLoop) loop = g_main_loop_new(nullptr, FALSE);
    app.loop = loop;
    try {
        create_display_objects(app);
        if (app.opts.p2p_fd >= 0)
            connect_p2p(app);
        else
            connect_bus(app);
    } catch (const std::exception &e) {
        std::fprintf(stderr, "vmcast-fake-qemu: %s\n", e.what());
        return 1;
    }
    struct sigaction sa {};
    sa.sa_handler = on_terminate;
    sigaction(SIGTERM, &sa, nullptr);
    sigaction(SIGINT, &sa, nullptr);

    StdinReader reader;
    reader.app = &app;
    g_autoptr(GInputStream) raw = g_unix_input_stream_new(STDIN_FILENO, FALSE);
    reader.in.reset(g_data_input_stream_new(raw));
    app.command_done = [&reader] { read_next(reader); };
    read_next(reader);

    g_main_loop_run(loop);

    app.command_done = nullptr;
    if (app.waiter && app.waiter->timeout_id != 0)
        g_source_remove(app.waiter->timeout_id);
    app.waiter.reset();
    drop_all_listeners(app);
    drop_audio_listeners(app);
    if (app.conn)
        g_dbus_connection_flush_sync(app.conn.get(), nullptr, nullptr);
    return 0;
}
