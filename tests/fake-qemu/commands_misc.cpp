// Commands that change the peer's own state: console size, mouse mode, LEDs, SetUIInfo
// support, saving the intended picture, status, sleep.
#include "app.hpp"

#include <cstring>

namespace fakeqemu {

void cmd_set_size(App &app, const CommandPtr &cmd) {
    Console &con = app.console_arg(cmd->args);
    const uint32_t w = cmd->args.u32("width"), h = cmd->args.u32("height");
    // Like QEMU 7.2's VGA text-mode switch: a new surface, announced only through the
    // Width/Height properties; a correct client grows or shrinks its picture.
    if (frame_size_ok(w, h)) {
        con.shadow.resize(w, h);
        report_frame(cmd, con.shadow);
    }
    Surface2D &s = con.surface;
    if (con.last == ScanoutKind::Scanout && frame_size_ok(w, h)) {
        const unsigned bpp = pixman_bytes_per_pixel(s.format);
        const uint32_t stride = w * bpp;
        std::vector<uint8_t> data(uint64_t{stride} * h, 0);
        const uint64_t row = uint64_t{std::min(w, s.width)} * bpp;
        for (uint32_t y = 0; y < std::min(h, s.height); y++)
            if (uint64_t{y} * s.stride + row <= s.data.size())
                std::memcpy(&data[uint64_t{y} * stride], &s.data[uint64_t{y} * s.stride], row);
        s = Surface2D{w, h, stride, s.format, std::move(data)};
    }
    set_console_size(con, w, h);
    finish_ok(app, cmd);
}

void cmd_set_absolute(App &app, const CommandPtr &cmd) {
    Console &con = app.console_arg(cmd->args);
    qemu_display_mouse_set_is_absolute(con.mouse.get(), cmd->args.flag("value"));
    finish_ok(app, cmd);
}

void cmd_set_modifiers(App &app, const CommandPtr &cmd) {
    Console &con = app.console_arg(cmd->args);
    qemu_display_keyboard_set_modifiers(con.keyboard.get(), cmd->args.u32("value"));
    finish_ok(app, cmd);
}

void cmd_set_ui_info(App &app, const CommandPtr &cmd) {
    Console &con = app.console_arg(cmd->args);
    con.ui_info_supported = cmd->args.flag("supported");
    finish_ok(app, cmd);
}

void cmd_save(App &app, const CommandPtr &cmd) {
    Console &con = app.console_arg(cmd->args);
    const std::string what = cmd->args.str("what", "screen");
    const Frame *frame = nullptr;
    if (what == "screen")
        frame = &con.shadow;
    else if (what == "cursor")
        frame = &con.cursor_frame;
    else
        throw CommandError(kBadCommand, "what: expected screen or cursor");
    if (frame->empty())
        throw CommandError("fake-qemu.SaveFailed", "nothing shown yet");
    save_frame(cmd->args.str("path"), *frame);
    cmd->extra.add("width", frame->width).add("height", frame->height);
    cmd->extra.add("checksum", checksum_hex(frame->bgra));
    finish_ok(app, cmd);
}

void cmd_status(App &app, const CommandPtr &cmd) {
    static const char *const kinds[] = {"none", "scanout", "dmabuf", "dmabuf2", "map"};
    std::string list = "[";
    for (const auto &c : app.consoles) {
        std::string ids = "[";
        for (const auto &l : c->listeners)
            ids += (ids.size() > 1 ? "," : "") + std::to_string(l->id);
        ids += "]";
        Json j;
        j.add("console", c->index);
        j.add("listeners", static_cast<uint64_t>(c->listeners.size()));
        j.add_raw("listener_ids", ids);
        j.add("width", qemu_display_console_get_width(c->iface.get()));
        j.add("height", qemu_display_console_get_height(c->iface.get()));
        j.add("absolute", static_cast<bool>(qemu_display_mouse_get_is_absolute(c->mouse.get())));
        j.add("last", kinds[static_cast<int>(c->last)]);
        if (!c->shadow.empty())
            j.add("checksum", checksum_hex(c->shadow.bgra));
        list += (list.size() > 1 ? "," : "") + j.str();
    }
    list += "]";
    cmd->extra.add("version", app.opts.version_text).add_raw("consoles", list);
    finish_ok(app, cmd);
}

void cmd_sleep(App &app, const CommandPtr &cmd) {
    const uint32_t ms = cmd->args.u32("ms");
    struct Ctx {
        App *app;
        CommandPtr cmd;
    };
    g_timeout_add_full(
        G_PRIORITY_DEFAULT, ms,
        [](gpointer p) -> gboolean {
            auto *c = static_cast<Ctx *>(p);
            finish_ok(*c->app, c->cmd);
            return G_SOURCE_REMOVE;
        },
        new Ctx{&app, cmd}, [](gpointer p) { delete static_cast<Ctx *>(p); });
}

} // namespace fakeqemu
