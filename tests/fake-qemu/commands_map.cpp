// Listener.Unix.Map (QEMU 9.2+): the surface lives in a memfd shared with the listener.
// ScanoutMap is a blocking call (1 s timeout) and a failure disables the map for that listener
// for good; listeners without a usable map get Scanout/Update copies instead, as from QEMU.
#include "app.hpp"

#include <cerrno>
#include <cstring>

namespace fakeqemu {

namespace {

// Reads len bytes at offset; zero-filled past the end of the file.
void read_at(const MapState &m, uint64_t offset, uint8_t *dst, uint64_t len) {
    while (len > 0) {
        ssize_t n = pread(m.fd.get(), dst, len, static_cast<off_t>(offset));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return;
        dst += n, offset += static_cast<uint64_t>(n), len -= static_cast<uint64_t>(n);
    }
}

// Rows (x, y, w, h) of the map as a tight copy (what QEMU's Update carries).
std::vector<uint8_t> read_rect(const MapState &m, uint32_t x, uint32_t y, uint32_t w, uint32_t h) {
    const unsigned bpp = pixman_bytes_per_pixel(m.format);
    const uint64_t row_len = uint64_t{w} * bpp;
    if (row_len * h > kMaxBuffer)
        return {};
    std::vector<uint8_t> out(row_len * h, 0);
    for (uint32_t r = 0; r < h; r++)
        read_at(m, m.offset + uint64_t{y + r} * m.stride + uint64_t{x} * bpp, &out[r * row_len],
                row_len);
    return out;
}

void send_copy(Console &con, const ListenerPtr &l, CallBatch *batch, bool whole, int32_t x,
               int32_t y, int32_t w, int32_t h) {
    const MapState &m = con.map;
    GVariant *params;
    const char *method;
    if (whole) {
        std::vector<uint8_t> data(uint64_t{m.stride} * m.height, 0);
        read_at(m, m.offset, data.data(), data.size());
        method = "Scanout";
        params = g_variant_new("(uuuu@ay)", m.width, m.height, m.stride, m.format,
                               bytes_variant(std::move(data)));
    } else {
        uint32_t ux = static_cast<uint32_t>(std::max(0, x));
        uint32_t uy = static_cast<uint32_t>(std::max(0, y));
        uint32_t uw = static_cast<uint32_t>(std::max(0, w)),
                 uh = static_cast<uint32_t>(std::max(0, h));
        auto data = read_rect(m, ux, uy, uw, uh);
        method = "Update";
        params = g_variant_new("(iiiiuu@ay)", x, y, w, h, uw * pixman_bytes_per_pixel(m.format),
                               m.format, bytes_variant(std::move(data)));
    }
    if (batch)
        batch->call(l, l->proxy.get(), method, params);
    else
        call_no_reply(l->proxy.get(), method, params);
}

GVariant *scanout_map_params(const MapState &m) {
    return g_variant_new("(huuuuu)", 0, m.offset, m.width, m.height, m.stride, m.format);
}

void after_scanout_map(Listener &l, const GError *error) {
    l.map_current = error == nullptr;
    if (error != nullptr)
        l.map_ok = false; // QEMU: can_share_map = false, for good
}

Console &map_console(App &app, const Args &a) {
    if (!app.at_least(kV92))
        throw CommandError(kNotSupported, "Unix.Map needs --qemu-version 9.2 or later");
    return app.console_arg(a);
}

} // namespace

void cmd_scanout_map(App &app, const CommandPtr &cmd) {
    const Args &a = cmd->args;
    Console &con = map_console(app, a);
    MapState m;
    m.width = a.u32("width"), m.height = a.u32("height");
    m.format = parse_pixman_format(a.str("format", "x8r8g8b8"));
    const unsigned bpp = pixman_bytes_per_pixel(m.format);
    m.stride = a.u32("stride", m.width * bpp);
    m.offset = a.u32("offset", 0);
    const uint64_t natural = uint64_t{m.offset} + uint64_t{m.stride} * m.height;
    const uint64_t size = a.u64("size", natural);
    const bool truncatable = a.flag("truncate-after");
    if (size > kMaxBuffer)
        throw CommandError(kBadCommand, "buffer too big");
    Pattern pat = Pattern::parse(a.str("pattern", "gradient"));
    pat.set_reference(m.width, m.height);
    auto listeners = target_listeners(con);

    m.fd = make_memfd("fake-qemu-map", size);
    write_region_pixman(m.fd.get(), m.offset, m.stride, m.format, pat, 0, 0, m.width, m.height);
    seal_memfd(m.fd.get(), !truncatable, true);
    auto layout = pixman_layout(m.format);
    const bool ok = layout && size >= natural && uint64_t{m.stride} >= uint64_t{m.width} * bpp &&
                    frame_size_ok(m.width, m.height);
    cmd->extra.add("intended", ok);
    if (ok) {
        Frame f;
        f.resize(m.width, m.height);
        paint_intended(f, &*layout, pat, 0, 0, m.width, m.height, 0, 0);
        con.shadow = std::move(f);
        report_frame(cmd, con.shadow);
    } else if (a.has("save")) {
        throw CommandError("fake-qemu.SaveFailed", "no intended picture for this input");
    }
    con.map = std::move(m);
    con.last = ScanoutKind::Map;
    set_console_size(con, con.map.width, con.map.height);

    auto batch = CallBatch::create(app, cmd);
    if (!a.has("call_timeout"))
        batch->set_timeout_ms(kQemuTimeoutMs);
    std::vector<std::string> paths;
    for (const auto &l : listeners) {
        l->map_current = false;
        if (l->map_ok) {
            GObjPtr<GUnixFDList> fds(g_unix_fd_list_new());
            g_unix_fd_list_append(fds.get(), con.map.fd.get(), nullptr);
            batch->call_sync(l, l->map_proxy.get(), "ScanoutMap", scanout_map_params(con.map),
                             fds.get(), after_scanout_map);
            paths.emplace_back(l->map_current ? "map" : "map-failed");
        } else {
            send_copy(con, l, batch.get(), true, 0, 0, 0, 0);
            paths.emplace_back("scanout");
        }
    }
    cmd->extra.add("paths", paths);
    batch->done_sending();
}

void cmd_update_map(App &app, const CommandPtr &cmd) {
    const Args &a = cmd->args;
    Console &con = map_console(app, a);
    MapState &m = con.map;
    if (!m.fd.valid() || con.last != ScanoutKind::Map)
        throw CommandError(kBadCommand, "no current scanout-map on this console");
    const int32_t x = a.i32("x", 0), y = a.i32("y", 0);
    const int32_t w = a.i32("width", static_cast<int32_t>(m.width));
    const int32_t h = a.i32("height", static_cast<int32_t>(m.height));
    auto listeners = target_listeners(con);
    if (auto text = a.opt_str("pattern")) {
        if (x < 0 || y < 0 || w <= 0 || h <= 0)
            throw CommandError(kBadCommand, "pattern= needs a valid rect");
        Pattern pat = Pattern::parse(*text);
        pat.set_reference(m.width, m.height);
        const auto ux = static_cast<uint32_t>(x), uy = static_cast<uint32_t>(y);
        const auto uw = static_cast<uint32_t>(w), uh = static_cast<uint32_t>(h);
        write_region_pixman(m.fd.get(), m.offset, m.stride, m.format, pat, ux, uy, uw, uh);
        if (auto layout = pixman_layout(m.format); layout && !con.shadow.empty()) {
            paint_intended(con.shadow, &*layout, pat, ux, uy, uw, uh, ux, uy);
            report_frame(cmd, con.shadow);
        }
    }
    auto batch = CallBatch::create(app, cmd);
    std::vector<std::string> paths;
    for (const auto &l : listeners) {
        if (l->map_ok && l->map_current) {
            batch->call(l, l->map_proxy.get(), "UpdateMap", g_variant_new("(iiii)", x, y, w, h));
            paths.emplace_back("map");
        } else {
            send_copy(con, l, batch.get(), false, x, y, w, h);
            paths.emplace_back("update");
        }
    }
    cmd->extra.add("paths", paths);
    batch->done_sending();
}

void cmd_truncate_map(App &app, const CommandPtr &cmd) {
    Console &con = map_console(app, cmd->args);
    const uint64_t size = cmd->args.u64("size");
    if (!con.map.fd.valid())
        throw CommandError(kBadCommand, "no current scanout-map on this console");
    if (ftruncate(con.map.fd.get(), static_cast<off_t>(size)) != 0)
        throw CommandError("fake-qemu.Failed", std::string("ftruncate: ") + strerror(errno));
    cmd->extra.add("size", size);
    finish_ok(app, cmd);
}

void replay_map(Console &con, const ListenerPtr &l, std::vector<std::string> &sent) {
    if (l->map_ok) {
        GObjPtr<GUnixFDList> fds(g_unix_fd_list_new());
        g_unix_fd_list_append(fds.get(), con.map.fd.get(), nullptr);
        g_autoptr(GError) err = nullptr;
        g_autoptr(GVariant) reply = g_dbus_proxy_call_with_unix_fd_list_sync(
            l->map_proxy.get(), "ScanoutMap", scanout_map_params(con.map), G_DBUS_CALL_FLAGS_NONE,
            kQemuTimeoutMs, fds.get(), nullptr, nullptr, &err);
        after_scanout_map(*l, reply ? nullptr : err);
        if (reply) {
            call_no_reply(l->map_proxy.get(), "UpdateMap",
                          g_variant_new("(iiii)", 0, 0, static_cast<int32_t>(con.map.width),
                                        static_cast<int32_t>(con.map.height)));
            sent.emplace_back("map");
            return;
        }
        sent.emplace_back("map-failed");
    }
    send_copy(con, l, nullptr, true, 0, 0, 0, 0);
    sent.emplace_back("scanout");
}

} // namespace fakeqemu
