// Commands for the GL path: ScanoutDMABUF, ScanoutDMABUF2 (10.1+), UpdateDMABUF, Disable.
// memfds stand in for DMA-BUFs: a client maps them like linear DMA-BUFs (its CPU path).
#include "app.hpp"

#include <cerrno>
#include <cstring>

namespace fakeqemu {

namespace {

// The layout a correct client decodes the buffer with; null for YUV (shown as the RGB
// pattern it was converted from).
std::optional<PixelLayout> intended_layout(uint32_t fourcc) {
    if (auto pix = fourcc_to_pixman(fourcc))
        return pixman_layout(*pix);
    return std::nullopt;
}

bool intended_possible(const DmabufState &d) {
    if (!fourcc_to_pixman(d.fourcc) && d.fourcc != kFourccNV12 && d.fourcc != kFourccYUYV)
        return false;
    if (d.planes.size() != fourcc_planes(d.fourcc))
        return false;
    for (uint32_t p = 0; p < d.planes.size(); p++) // rows must not overlap
        if (d.planes[p].stride < default_stride(d.fourcc, p, d.backing_width))
            return false;
    return true;
}

// The fd list for one call: plane p's fd at index p.
GUnixFDList *plane_fd_list(const DmabufState &d) {
    GUnixFDList *list = g_unix_fd_list_new();
    for (size_t p = 0; p < d.planes.size(); p++)
        g_unix_fd_list_append(list, d.fds[d.fd_of[p]].get(), nullptr);
    return list;
}

GVariant *au(const std::vector<uint32_t> &v) {
    return g_variant_new_fixed_array(G_VARIANT_TYPE_UINT32, v.data(), v.size(), sizeof(uint32_t));
}

// Sends the console's current buffer to one listener as QEMU would: ScanoutDMABUF2 when the
// listener has it (10.1+), else ScanoutDMABUF for a single plane, else nothing (QEMU drops
// multi-plane buffers for v1 listeners). batch null: fire-and-forget. Returns the path taken.
std::string send_dmabuf(Console &con, const ListenerPtr &l, CallBatch *batch, bool force_v1) {
    const DmabufState &d = con.dmabuf;
    GObjPtr<GUnixFDList> fds(plane_fd_list(d));
    GDBusProxy *proxy = nullptr;
    const char *method = nullptr;
    GVariant *params = nullptr;
    std::string path;
    if (l->dmabuf2_proxy && !force_v1) {
        GVariantBuilder ah;
        g_variant_builder_init(&ah, G_VARIANT_TYPE("ah"));
        for (size_t p = 0; p < d.planes.size(); p++)
            g_variant_builder_add(&ah, "h", static_cast<gint32>(p));
        proxy = l->dmabuf2_proxy.get(), method = "ScanoutDMABUF2", path = "dmabuf2";
        params = g_variant_new("(@ahuuuu@au@auuuuutb)", g_variant_builder_end(&ah), d.x, d.y,
                               d.width, d.height, au(d.offsets), au(d.strides), d.num_planes,
                               d.fourcc, d.backing_width, d.backing_height, d.modifier, d.y0_top);
    } else if (d.planes.size() == 1) {
        proxy = l->proxy.get(), method = "ScanoutDMABUF", path = "dmabuf";
        params = g_variant_new("(huuuutb)", 0, d.width, d.height, d.strides.at(0), d.fourcc,
                               d.modifier, d.y0_top);
    } else {
        return "dropped";
    }
    if (batch)
        batch->call(l, proxy, method, params, fds.get());
    else
        call_no_reply(proxy, method, params, fds.get());
    return path;
}

// Fills the planes and the shadow with the pattern over the whole backing buffer.
void paint_buffer(Console &con, const Pattern &pat, const CommandPtr &cmd) {
    DmabufState &d = con.dmabuf;
    if (d.paintable)
        write_region(d.planes, d.fourcc, pat, 0, 0, d.backing_width, d.backing_height,
                     d.backing_width, d.backing_height, d.y0_top);
    bool big_enough = d.paintable;
    for (size_t p = 0; p < d.planes.size() && big_enough; p++)
        big_enough =
            fd_size(d.planes[p].fd) >=
            d.planes[p].offset + d.planes[p].stride * plane_rows(d.fourcc, p, d.backing_height);
    const bool ok = big_enough && intended_possible(d) && frame_size_ok(d.width, d.height);
    cmd->extra.add("intended", ok);
    if (!ok) {
        if (cmd->args.has("save"))
            throw CommandError("fake-qemu.SaveFailed", "no intended picture for this input");
        return;
    }
    auto layout = intended_layout(d.fourcc);
    Frame f;
    f.resize(d.width, d.height);
    paint_intended(f, layout ? &*layout : nullptr, pat, d.x, d.y, d.width, d.height, 0, 0);
    con.shadow = std::move(f);
    report_frame(cmd, con.shadow);
    if (!layout) // YUV: the picture is the RGB pattern before conversion
        cmd->extra.add("rgb_checksum", checksum_hex(con.shadow.bgra));
}

// memfd (default), bad (pipe, writer kept open) or closed-pipe.
UniqueFd make_buffer_fd(const std::string &mode, uint64_t size, DmabufState &d) {
    if (mode == "memfd") {
        d.paintable = true;
        return make_memfd("fake-qemu-dmabuf", size);
    }
    if (mode == "bad")
        return make_pipe_fd(&d.pipe_writer);
    if (mode == "closed-pipe")
        return make_pipe_fd(nullptr);
    throw CommandError(kBadCommand, "fd: expected memfd, bad or closed-pipe");
}

void check_size(uint64_t size) {
    if (size > kMaxBuffer)
        throw CommandError(kBadCommand, "buffer of " + std::to_string(size) + " bytes is too big");
}

void send_all(App &app, Console &con, const CommandPtr &cmd, bool force_v1) {
    auto listeners = target_listeners(con);
    auto batch = CallBatch::create(app, cmd);
    std::vector<std::string> paths;
    for (const auto &l : listeners)
        paths.push_back(send_dmabuf(con, l, batch.get(), force_v1));
    cmd->extra.add("paths", paths);
    batch->done_sending();
}

} // namespace

void cmd_scanout_dmabuf(App &app, const CommandPtr &cmd) {
    const Args &a = cmd->args;
    Console &con = app.console_arg(a);
    DmabufState d;
    d.fourcc = parse_fourcc(a.str("fourcc", "XR24"));
    d.width = d.backing_width = a.u32("width");
    d.height = d.backing_height = a.u32("height");
    d.strides = {a.u32("stride", static_cast<uint32_t>(default_stride(d.fourcc, 0, d.width)))};
    d.offsets = {0};
    d.modifier = parse_modifier(a.str("modifier", "linear"));
    d.y0_top = a.flag("y0_top");
    const bool force_v1 = a.flag("force_v1");
    const uint64_t size = a.u64("size", uint64_t{d.strides[0]} * d.height);
    check_size(size);
    Pattern pat = Pattern::parse(a.str("pattern", "gradient"));
    pat.set_reference(d.width, d.height);
    target_listeners(con);

    d.fds.push_back(make_buffer_fd(a.str("fd", "memfd"), size, d));
    d.fd_of = {0};
    d.planes = {Plane{d.fds[0].get(), 0, d.strides[0]}};
    con.dmabuf = std::move(d);
    paint_buffer(con, pat, cmd);
    if (con.dmabuf.paintable && a.flag("sealed", true))
        seal_memfd(con.dmabuf.fds[0].get(), true, true);
    con.last = ScanoutKind::Dmabuf;
    set_console_size(con, con.dmabuf.width, con.dmabuf.height);
    send_all(app, con, cmd, force_v1);
}

void cmd_scanout_dmabuf2(App &app, const CommandPtr &cmd) {
    if (!app.at_least(kV101))
        throw CommandError(kNotSupported, "ScanoutDMABUF2 needs --qemu-version 10.1 or later");
    const Args &a = cmd->args;
    Console &con = app.console_arg(a);
    DmabufState d;
    d.fourcc = parse_fourcc(a.str("fourcc", "XR24"));
    d.x = a.u32("x", 0), d.y = a.u32("y", 0);
    d.width = a.u32("width"), d.height = a.u32("height");
    d.backing_width = a.u32("backing_width", d.x + d.width);
    d.backing_height = a.u32("backing_height", d.y + d.height);
    d.num_planes = a.u32("num_planes", fourcc_planes(d.fourcc));
    d.modifier = parse_modifier(a.str("modifier", "linear"));
    d.y0_top = a.flag("y0_top");
    const bool same_fd = a.flag("same_fd");
    const auto offsets = a.u32_list("offsets"), strides = a.u32_list("strides");
    const auto sizes = a.u32_list("sizes");
    const std::string fd_mode = a.str("fd", "memfd");
    Pattern pat = Pattern::parse(a.str("pattern", "gradient"));
    pat.set_reference(d.backing_width, d.backing_height);
    if (d.num_planes == 0 || d.num_planes > 4)
        throw CommandError(kBadCommand, "num_planes must be 1 to 4");
    target_listeners(con);

    uint64_t end = 0;
    for (uint32_t p = 0; p < d.num_planes; p++) {
        uint64_t stride =
            p < strides.size() ? strides[p] : default_stride(d.fourcc, p, d.backing_width);
        uint64_t offset = p < offsets.size() ? offsets[p] : (same_fd ? end : 0);
        d.strides.push_back(static_cast<uint32_t>(stride));
        d.offsets.push_back(static_cast<uint32_t>(offset));
        uint64_t plane_end = offset + stride * plane_rows(d.fourcc, p, d.backing_height);
        end = same_fd ? std::max(end, plane_end) : plane_end;
        if (!same_fd) {
            uint64_t size = p < sizes.size() ? sizes[p] : plane_end;
            check_size(size);
            d.fds.push_back(make_buffer_fd(fd_mode, size, d));
        }
        d.fd_of.push_back(same_fd ? 0 : p);
    }
    if (same_fd) {
        uint64_t size = sizes.empty() ? end : sizes[0];
        check_size(size);
        d.fds.push_back(make_buffer_fd(fd_mode, size, d));
    }
    for (uint32_t p = 0; p < d.num_planes; p++)
        d.planes.push_back(Plane{d.fds[d.fd_of[p]].get(), d.offsets[p], d.strides[p]});

    con.dmabuf = std::move(d);
    paint_buffer(con, pat, cmd);
    if (con.dmabuf.paintable)
        for (const auto &fd : con.dmabuf.fds)
            seal_memfd(fd.get(), true, true);
    con.last = ScanoutKind::Dmabuf2;
    set_console_size(con, con.dmabuf.width, con.dmabuf.height);
    send_all(app, con, cmd, false);
}

void cmd_update_dmabuf(App &app, const CommandPtr &cmd) {
    const Args &a = cmd->args;
    Console &con = app.console_arg(a);
    const int32_t x = a.i32("x", 0), y = a.i32("y", 0);
    const int32_t w = a.i32("width", static_cast<int32_t>(con.dmabuf.width));
    const int32_t h = a.i32("height", static_cast<int32_t>(con.dmabuf.height));
    auto listeners = target_listeners(con);
    if (auto text = a.opt_str("pattern")) {
        DmabufState &d = con.dmabuf;
        if (!d.paintable || x < 0 || y < 0 || w <= 0 || h <= 0)
            throw CommandError(kBadCommand, "pattern= needs a memfd scanout and a valid rect");
        Pattern pat = Pattern::parse(*text);
        pat.set_reference(d.backing_width, d.backing_height);
        const uint32_t bx = d.x + static_cast<uint32_t>(x), by = d.y + static_cast<uint32_t>(y);
        write_region(d.planes, d.fourcc, pat, bx, by, static_cast<uint32_t>(w),
                     static_cast<uint32_t>(h), d.backing_width, d.backing_height, d.y0_top);
        if (!con.shadow.empty() && intended_possible(d)) {
            auto layout = intended_layout(d.fourcc);
            paint_intended(con.shadow, layout ? &*layout : nullptr, pat, bx, by,
                           static_cast<uint32_t>(w), static_cast<uint32_t>(h),
                           static_cast<uint32_t>(x), static_cast<uint32_t>(y));
            report_frame(cmd, con.shadow);
        }
    }
    auto batch = CallBatch::create(app, cmd);
    for (const auto &l : listeners)
        batch->call(l, l->proxy.get(), "UpdateDMABUF", g_variant_new("(iiii)", x, y, w, h));
    batch->done_sending();
}

void cmd_truncate_dmabuf(App &app, const CommandPtr &cmd) {
    Console &con = app.console_arg(cmd->args);
    const uint64_t size = cmd->args.u64("size");
    if (con.dmabuf.fds.empty() || !con.dmabuf.paintable)
        throw CommandError(kBadCommand, "no current memfd scanout-dmabuf on this console");
    if (ftruncate(con.dmabuf.fds[0].get(), static_cast<off_t>(size)) != 0)
        throw CommandError("fake-qemu.Failed", std::string("ftruncate: ") + strerror(errno));
    cmd->extra.add("size", size);
    finish_ok(app, cmd);
}

void cmd_disable(App &app, const CommandPtr &cmd) {
    Console &con = app.console_arg(cmd->args);
    auto listeners = target_listeners(con);
    con.last = ScanoutKind::None;
    auto batch = CallBatch::create(app, cmd);
    for (const auto &l : listeners)
        batch->call(l, l->proxy.get(), "Disable", g_variant_new("()"));
    batch->done_sending();
}

void replay_gpu(Console &con, const ListenerPtr &l, std::vector<std::string> &sent) {
    if (con.last == ScanoutKind::Dmabuf || con.last == ScanoutKind::Dmabuf2) {
        std::string path = send_dmabuf(con, l, nullptr, false);
        sent.push_back(path);
    } else if (con.last == ScanoutKind::Map) {
        replay_map(con, l, sent);
    }
}

} // namespace fakeqemu
