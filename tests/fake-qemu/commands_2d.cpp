// Commands for the 2D path: Scanout, Update, CursorDefine, MouseSet.
#include "app.hpp"

#include <cstring>

namespace fakeqemu {

GVariant *bytes_variant(std::vector<uint8_t> data) {
    auto *owned = new std::vector<uint8_t>(std::move(data));
    g_autoptr(GBytes) bytes = g_bytes_new_with_free_func(
        owned->data(), owned->size(),
        [](gpointer p) { delete static_cast<std::vector<uint8_t> *>(p); }, owned);
    return g_variant_new_from_bytes(G_VARIANT_TYPE_BYTESTRING, bytes, TRUE);
}

namespace {

struct Params {
    GVariant *v;
    explicit Params(GVariant *floating) : v(g_variant_ref_sink(floating)) {}
    Params(const Params &) = delete;
    Params &operator=(const Params &) = delete;
    ~Params() { g_variant_unref(v); }
};

// Sends the same call count= times to every listener of the console.
void send_to_all(App &app, const CommandPtr &cmd, const std::vector<ListenerPtr> &listeners,
                 const char *method, GVariant *floating_params) {
    Params params(floating_params);
    uint32_t count = cmd->args.u32("count", 1);
    auto batch = CallBatch::create(app, cmd);
    for (uint32_t i = 0; i < count; i++)
        for (const auto &l : listeners)
            batch->call(l, l->proxy.get(), method, params.v);
    batch->done_sending();
}

std::optional<PixelLayout> layout_or_raw(uint32_t format) {
    return pixman_layout(format);
}

uint64_t checked_size(const Args &args, uint64_t natural) {
    uint64_t size = args.has("len") ? args.u64("len") : natural;
    if (size > kMaxBuffer)
        throw CommandError(kBadCommand, "buffer of " + std::to_string(size) + " bytes is too big");
    return size;
}

} // namespace

std::vector<ListenerPtr> target_listeners(Console &con) {
    if (con.listeners.empty())
        throw CommandError(kNoListener, "no listener on console " + std::to_string(con.index));
    return con.listeners;
}

void set_console_size(Console &con, uint32_t width, uint32_t height) {
    if (qemu_display_console_get_width(con.iface.get()) != width)
        qemu_display_console_set_width(con.iface.get(), width);
    if (qemu_display_console_get_height(con.iface.get()) != height)
        qemu_display_console_set_height(con.iface.get(), height);
}

void report_frame(const CommandPtr &cmd, const Frame &frame) {
    cmd->extra.add("checksum", checksum_hex(frame.bgra));
    if (auto path = cmd->args.opt_str("save"))
        save_frame(*path, frame);
}

void cmd_scanout(App &app, const CommandPtr &cmd) {
    const Args &a = cmd->args;
    Console &con = app.console_arg(a);
    const uint32_t w = a.u32("width"), h = a.u32("height");
    const uint32_t format = parse_pixman_format(a.str("format", "x8r8g8b8"));
    const uint32_t stride = a.u32("stride", w * pixman_bytes_per_pixel(format));
    const uint64_t size = checked_size(a, uint64_t{stride} * h);
    const Pattern pat = Pattern::parse(a.str("pattern", "gradient"));
    auto listeners = target_listeners(con);
    send_to_all(app, cmd, listeners, "Scanout",
                prepare_scanout(cmd, con, ScanoutParams{w, h, stride, format, size}, pat));
}

GVariant *prepare_scanout(const CommandPtr &cmd, Console &con, const ScanoutParams &s,
                          Pattern pat) {
    const auto [w, h, stride, format, size] = s;
    const unsigned bpp = pixman_bytes_per_pixel(format);
    pat.set_reference(w, h);

    auto layout = layout_or_raw(format);
    const bool well_formed = layout && uint64_t{stride} >= uint64_t{w} * bpp &&
                             size >= uint64_t{stride} * h && frame_size_ok(w, h);
    if (well_formed) {
        Frame f;
        f.resize(w, h);
        paint_intended(f, &*layout, pat, 0, 0, w, h, 0, 0);
        con.shadow = std::move(f);
        report_frame(cmd, con.shadow);
    } else if (cmd->args.has("save")) {
        throw CommandError("fake-qemu.SaveFailed", "no intended picture for this input");
    }
    cmd->extra.add("intended", well_formed);

    auto data = render_packed(layout ? &*layout : nullptr, pat, 0, 0, w, h, stride, size);
    con.surface = Surface2D{w, h, stride, format, data};
    con.last = ScanoutKind::Scanout;
    for (const auto &l : con.listeners)
        l->map_current = false;
    set_console_size(con, w, h);
    return g_variant_new("(uuuu@ay)", w, h, stride, format, bytes_variant(std::move(data)));
}

void cmd_update(App &app, const CommandPtr &cmd) {
    const Args &a = cmd->args;
    Console &con = app.console_arg(a);
    const int32_t x = a.i32("x"), y = a.i32("y"), w = a.i32("width"), h = a.i32("height");
    const uint32_t def_format = con.surface.format ? con.surface.format : kPixmanX8R8G8B8;
    const uint32_t format = a.has("format") ? parse_pixman_format(a.str("format")) : def_format;
    const unsigned bpp = pixman_bytes_per_pixel(format);
    const uint32_t uw = w > 0 ? static_cast<uint32_t>(w) : 0;
    const uint32_t uh = h > 0 ? static_cast<uint32_t>(h) : 0;
    const uint32_t stride = a.u32("stride", uw * bpp);
    const uint64_t size = checked_size(a, uint64_t{stride} * uh);
    Pattern pat = Pattern::parse(a.str("pattern", "gradient"));
    if (!con.shadow.empty())
        pat.set_reference(con.shadow.width, con.shadow.height);
    else
        pat.set_reference(static_cast<uint32_t>(std::max(0, x)) + uw,
                          static_cast<uint32_t>(std::max(0, y)) + uh);
    auto listeners = target_listeners(con);

    auto layout = layout_or_raw(format);
    const uint32_t ux = x > 0 ? static_cast<uint32_t>(x) : 0;
    const uint32_t uy = y > 0 ? static_cast<uint32_t>(y) : 0;
    const bool well_formed = layout && x >= 0 && y >= 0 && uw > 0 && uh > 0 &&
                             uint64_t{stride} >= uint64_t{uw} * bpp &&
                             size >= uint64_t{stride} * uh && !con.shadow.empty();
    if (well_formed) {
        paint_intended(con.shadow, &*layout, pat, ux, uy, uw, uh, ux, uy);
        report_frame(cmd, con.shadow);
    } else if (a.has("save")) {
        throw CommandError("fake-qemu.SaveFailed", "no intended picture for this input");
    }
    cmd->extra.add("intended", well_formed);

    auto data = render_packed(layout ? &*layout : nullptr, pat, ux, uy, uw, uh, stride, size);
    Surface2D &s = con.surface;
    if (well_formed && con.last == ScanoutKind::Scanout && format == s.format &&
        uint64_t{ux} + uw <= s.width && uint64_t{uy} + uh <= s.height) {
        for (uint32_t r = 0; r < uh; r++)
            std::memcpy(&s.data[(uint64_t{uy} + r) * s.stride + uint64_t{ux} * bpp],
                        &data[uint64_t{r} * stride], uint64_t{uw} * bpp);
    }
    send_to_all(
        app, cmd, listeners, "Update",
        g_variant_new("(iiiiuu@ay)", x, y, w, h, stride, format, bytes_variant(std::move(data))));
}

void cmd_cursor(App &app, const CommandPtr &cmd) {
    const Args &a = cmd->args;
    Console &con = app.console_arg(a);
    const int32_t w = a.i32("width"), h = a.i32("height");
    const int32_t hx = a.i32("hot_x", 0), hy = a.i32("hot_y", 0);
    const uint32_t uw = w > 0 ? static_cast<uint32_t>(w) : 0;
    const uint32_t uh = h > 0 ? static_cast<uint32_t>(h) : 0;
    const uint64_t size = checked_size(a, uint64_t{uw} * uh * 4);
    Pattern pat = Pattern::parse(a.str("pattern", "gradient"));
    pat.set_reference(uw, uh);
    auto listeners = target_listeners(con);

    auto layout = pixman_layout(kPixmanA8R8G8B8);
    const bool well_formed = frame_size_ok(uw, uh) && size >= uint64_t{uw} * uh * 4;
    if (well_formed) {
        Frame f;
        f.resize(uw, uh);
        paint_intended(f, &*layout, pat, 0, 0, uw, uh, 0, 0);
        con.cursor_frame = std::move(f);
        report_frame(cmd, con.cursor_frame);
    } else if (a.has("save")) {
        throw CommandError("fake-qemu.SaveFailed", "no intended picture for this input");
    }
    cmd->extra.add("intended", well_formed);

    auto data = render_packed(&*layout, pat, 0, 0, uw, uh, uint64_t{uw} * 4, size);
    con.cursor.defined = true;
    con.cursor.width = w, con.cursor.height = h, con.cursor.hot_x = hx, con.cursor.hot_y = hy;
    con.cursor.data = data;
    send_to_all(app, cmd, listeners, "CursorDefine",
                g_variant_new("(iiii@ay)", w, h, hx, hy, bytes_variant(std::move(data))));
}

void cmd_mouse_set(App &app, const CommandPtr &cmd) {
    const Args &a = cmd->args;
    Console &con = app.console_arg(a);
    const int32_t x = a.i32("x"), y = a.i32("y"), on = a.i32("on", 1);
    auto listeners = target_listeners(con);
    con.cursor.mouse_set = true;
    con.cursor.x = x, con.cursor.y = y, con.cursor.on = on;
    send_to_all(app, cmd, listeners, "MouseSet", g_variant_new("(iii)", x, y, on));
}

void replay_2d(Console &con, const ListenerPtr &l, std::vector<std::string> &sent) {
    GDBusProxy *proxy = l->proxy.get();
    const Surface2D &s = con.surface;
    if (con.last == ScanoutKind::Scanout) {
        call_no_reply(proxy, "Scanout",
                      g_variant_new("(uuuu@ay)", s.width, s.height, s.stride, s.format,
                                    bytes_variant(s.data)));
        sent.emplace_back("scanout");
    }
    if (!con.app->at_least(kV80))
        return; // 7.x: no cursor until the guest changes it
    const CursorState &c = con.cursor;
    if (c.defined) {
        call_no_reply(
            proxy, "CursorDefine",
            g_variant_new("(iiii@ay)", c.width, c.height, c.hot_x, c.hot_y, bytes_variant(c.data)));
        sent.emplace_back("cursor");
    }
    if (c.mouse_set) {
        call_no_reply(proxy, "MouseSet", g_variant_new("(iii)", c.x, c.y, c.on));
        sent.emplace_back("mouse-set");
    }
}

} // namespace fakeqemu
