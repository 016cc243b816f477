// The random calls of the `hostile` command: every listener method, with sizes, strides,
// formats, rects and buffers that are sometimes valid and often not.
#include "hostile.hpp"

#include <algorithm>
#include <array>
#include <climits>

namespace fakeqemu {

namespace {

// Largest byte array or memfd one call carries: hostile sizes beyond it get short data.
constexpr uint64_t kMaxData = 4ull << 20;
// The same for each cursor of a storm, which sends up to 32.
constexpr uint64_t kMaxCursorData = 256ull << 10;

// QEMU waits for these replies, DBUS_DEFAULT_TIMEOUT at the most: ScanoutMap blocks its main
// loop, UpdateDMABUF holds the guest's GL. The others it sends and forgets.
bool qemu_waits_for(const std::string &method) {
    return method == "ScanoutMap" || method == "UpdateDMABUF";
}

struct HostileCall {
    std::shared_ptr<HostileRun> run;
    std::string method;
    int64_t sent_us;
};

GVariant *au(const std::vector<uint32_t> &v) {
    return g_variant_new_fixed_array(G_VARIANT_TYPE_UINT32, v.data(), v.size(), sizeof(uint32_t));
}

} // namespace

void HostileRun::send(GDBusProxy *proxy, const char *method, GVariant *params, GUnixFDList *fds) {
    stats_.sent[method]++;
    pending_++;
    auto *call = new HostileCall{shared_from_this(), method, now_us()};
    // GDBus's default timeout (25 s) for all: a late reply is counted, not lost.
    g_dbus_proxy_call_with_unix_fd_list(proxy, method, params, G_DBUS_CALL_FLAGS_NONE, -1, fds,
                                        nullptr, on_reply, call);
}

void HostileRun::on_reply(GObject *source, GAsyncResult *res, gpointer data) {
    std::unique_ptr<HostileCall> call(static_cast<HostileCall *>(data));
    g_autoptr(GError) err = nullptr;
    g_autoptr(GVariant) reply =
        g_dbus_proxy_call_with_unix_fd_list_finish(G_DBUS_PROXY(source), nullptr, res, &err);
    HostileRun &run = *call->run;
    HostileStats &st = run.stats_;
    run.pending_--;
    const int64_t took = now_us() - call->sent_us;
    st.slowest_reply_us = std::max(st.slowest_reply_us, took);
    if (qemu_waits_for(call->method)) {
        st.slowest_waited_reply_us = std::max(st.slowest_waited_reply_us, took);
        if (took > int64_t{kQemuTimeoutMs} * 1000)
            st.late_for_qemu++;
    }
    if (reply != nullptr)
        return;
    if (g_dbus_error_is_remote_error(err))
        st.rejected[call->method]++;
    else if (g_error_matches(err, G_IO_ERROR, G_IO_ERROR_TIMED_OUT))
        st.timeouts++;
    else
        st.closed++;
}

uint32_t HostileRun::dimension() {
    static constexpr std::array<uint32_t, 8> odd = {0,     1,          16384,      16385,
                                                    65535, 0x7fffffff, 0x80000000, 0xffffffff};
    return chance(80) ? static_cast<uint32_t>(1 + below(256)) : odd[below(odd.size())];
}

HostileRun::Rect HostileRun::rect(const Console &con) {
    const auto [sw, sh] = last_size_[con.index];
    if (chance(40) || sw == 0 || sh == 0 || sw > 16384 || sh > 16384)
        return {coordinate(256), coordinate(256), static_cast<int32_t>(dimension()),
                static_cast<int32_t>(dimension())};
    const auto x = static_cast<uint32_t>(below(sw)), y = static_cast<uint32_t>(below(sh));
    return {static_cast<int32_t>(x), static_cast<int32_t>(y),
            static_cast<int32_t>(1 + below(sw - x)), static_cast<int32_t>(1 + below(sh - y))};
}

void HostileRun::remember_size(const Console &con, uint32_t w, uint32_t h) {
    last_size_[con.index] = {w, h};
}

int32_t HostileRun::coordinate(uint32_t extent) {
    static constexpr std::array<int32_t, 6> odd = {-1,        -16385,        INT32_MIN,
                                                   INT32_MAX, INT32_MAX - 7, 16384};
    return chance(80) ? static_cast<int32_t>(below(std::min<uint32_t>(extent, 16384) + 1u))
                      : odd[below(odd.size())];
}

uint32_t HostileRun::pixman_format() {
    static const std::array<const char *, 10> names = {
        "x8r8g8b8", "a8r8g8b8", "b8g8r8x8", "x8b8g8r8", "r8g8b8a8",
        "r8g8b8",   "b8g8r8",   "r5g6b5",   "x1r5g5b5", "x2r10g10b10"};
    if (chance(10))
        return static_cast<uint32_t>(rng_());
    return chance(50) ? kPixmanX8R8G8B8 : parse_pixman_format(names[below(names.size())]);
}

uint32_t HostileRun::drm_fourcc() {
    static const std::array<const char *, 13> names = {"XR24", "AR24", "XB24", "AB24", "BX24",
                                                       "BA24", "RX24", "RA24", "RG24", "BG24",
                                                       "RG16", "YUYV", "NV12"};
    if (chance(10))
        return static_cast<uint32_t>(rng_());
    return chance(50) ? fourcc_code('X', 'R', '2', '4') : parse_fourcc(names[below(names.size())]);
}

uint64_t HostileRun::stride_for(uint64_t row_bytes) {
    static constexpr std::array<uint64_t, 3> odd = {0, 0x80000000, 0xffffffff};
    const uint64_t r = below(100);
    uint64_t stride = r < 70   ? row_bytes
                      : r < 80 ? row_bytes + below(64)
                      : r < 90 ? below(row_bytes)
                               : odd[below(odd.size())];
    return std::min<uint64_t>(stride, UINT32_MAX);
}

std::vector<uint8_t> HostileRun::data_for(uint64_t natural, uint64_t limit) {
    const uint64_t len = std::min(natural, limit);
    const uint64_t r = below(100);
    return std::vector<uint8_t>(r < 75   ? len
                                : r < 90 ? below(len)
                                         : 0,
                                static_cast<uint8_t>(rng_()));
}

HostileRun::Memfd HostileRun::memfd_for(uint64_t natural) {
    const uint64_t len = std::min(natural, kMaxData);
    const uint64_t r = below(100);
    Memfd m;
    m.size = r < 70 ? len : r < 90 ? below(len) : len + below(4096);
    m.fd = make_memfd("hostile", m.size);
    if (chance(30))
        seal_memfd(m.fd.get(), true, true);
    return m;
}

// The client keeps its own copy of a sent fd. Ours is closed at once (an fd closed early), or
// kept and shrunk under the client's mapping a few steps later.
void HostileRun::shrink_later(Memfd buffer) {
    if (chance(40))
        to_shrink_.push_back(std::move(buffer));
}

void HostileRun::step() {
    if (!to_shrink_.empty() && chance(20)) {
        Memfd &m = to_shrink_.back(); // most likely still the current scanout
        if (m.size > 0 && ftruncate(m.fd.get(), static_cast<off_t>(below(m.size))) == 0)
            stats_.shrunk++; // sealed ones refuse: they are meant to stay whole
        to_shrink_.pop_back();
        Console &con = *app_.consoles[consoles_[below(consoles_.size())]];
        update_dmabuf(con); // the client reads the shrunk buffer
        update_map(con);
    }
    if (!gone_.empty() && chance(30))
        reappear_all();
    Console &con = *app_.consoles[consoles_[below(consoles_.size())]];
    if (con.listeners.empty())
        return;
    using Action = void (HostileRun::*)(Console &);
    static constexpr std::array<Action, 14> actions = {
        &HostileRun::scanout,       &HostileRun::update,          &HostileRun::update,
        &HostileRun::update,        &HostileRun::cursor_storm,    &HostileRun::mouse_storm,
        &HostileRun::disable,       &HostileRun::scanout_dmabuf,  &HostileRun::scanout_dmabuf2,
        &HostileRun::update_dmabuf, &HostileRun::update_dmabuf,   &HostileRun::scanout_map,
        &HostileRun::update_map,    &HostileRun::resize_or_vanish};
    (this->*actions[below(actions.size())])(con);
}

void HostileRun::scanout(Console &con) {
    const uint32_t w = dimension(), h = dimension(), format = pixman_format();
    const auto stride =
        static_cast<uint32_t>(stride_for(uint64_t{w} * pixman_bytes_per_pixel(format)));
    auto data = data_for(uint64_t{stride} * h, kMaxData);
    for (const auto &l : con.listeners)
        send(l->proxy.get(), "Scanout",
             g_variant_new("(uuuu@ay)", w, h, stride, format, bytes_variant(data)));
    remember_size(con, w, h);
    for (uint64_t n = below(4); n > 0; n--)
        update(con);
}

void HostileRun::update(Console &con) {
    const auto [x, y, w, h] = rect(con);
    const uint32_t format = chance(80) ? kPixmanX8R8G8B8 : pixman_format();
    const uint64_t uw = w > 0 ? static_cast<uint64_t>(w) : 0,
                   uh = h > 0 ? static_cast<uint64_t>(h) : 0;
    const auto stride = static_cast<uint32_t>(stride_for(uw * pixman_bytes_per_pixel(format)));
    auto data = data_for(stride * uh, kMaxData);
    for (const auto &l : con.listeners)
        send(l->proxy.get(), "Update",
             g_variant_new("(iiiiuu@ay)", x, y, w, h, stride, format, bytes_variant(data)));
}

void HostileRun::cursor_storm(Console &con) {
    static constexpr std::array<int32_t, 6> odd = {0, -1, 512, 513, 4096, INT32_MAX};
    for (uint64_t n = 1 + below(32); n > 0; n--) {
        const int32_t w = chance(70) ? static_cast<int32_t>(1 + below(64)) : odd[below(odd.size())];
        const int32_t h = chance(70) ? static_cast<int32_t>(1 + below(64)) : odd[below(odd.size())];
        const uint64_t natural = uint64_t(std::max(w, 0)) * uint64_t(std::max(h, 0)) * 4;
        const int32_t hx = coordinate(64), hy = coordinate(64);
        auto data = data_for(natural, kMaxCursorData);
        for (const auto &l : con.listeners)
            send(l->proxy.get(), "CursorDefine",
                 g_variant_new("(iiii@ay)", w, h, hx, hy, bytes_variant(data)));
    }
}

void HostileRun::mouse_storm(Console &con) {
    for (uint64_t n = 1 + below(64); n > 0; n--) {
        const int32_t x = coordinate(1024), y = coordinate(1024);
        const auto on = static_cast<int32_t>(below(3));
        for (const auto &l : con.listeners)
            send(l->proxy.get(), "MouseSet", g_variant_new("(iii)", x, y, on));
    }
}

void HostileRun::disable(Console &con) {
    for (const auto &l : con.listeners)
        send(l->proxy.get(), "Disable", g_variant_new("()"));
}

void HostileRun::scanout_dmabuf(Console &con) {
    const uint32_t w = dimension(), h = dimension(), fourcc = drm_fourcc();
    const auto stride = static_cast<uint32_t>(stride_for(uint64_t{w} * 4));
    const uint64_t modifier = chance(80) ? 0 : chance(50) ? kModifierInvalid : rng_();
    const bool y0_top = chance(50);
    Memfd m;
    if (chance(15))
        m.fd = make_pipe_fd(nullptr); // cannot be mapped
    else
        m = memfd_for(uint64_t{stride} * h);
    for (const auto &l : con.listeners) {
        GObjPtr<GUnixFDList> fds(g_unix_fd_list_new());
        g_unix_fd_list_append(fds.get(), m.fd.get(), nullptr);
        send(l->proxy.get(), "ScanoutDMABUF",
             g_variant_new("(huuuutb)", 0, w, h, stride, fourcc, modifier, y0_top), fds.get());
    }
    shrink_later(std::move(m));
    remember_size(con, w, h);
    for (uint64_t n = below(4); n > 0; n--)
        update_dmabuf(con);
}

void HostileRun::scanout_dmabuf2(Console &con) {
    // Plane counts that match the fds and arrays, and counts that do not.
    const auto planes = static_cast<uint32_t>(chance(80) ? 1 + below(4) : below(6));
    const size_t fd_count = chance(90) ? planes : below(6);
    const size_t array_len = chance(90) ? planes : below(6);
    const auto x = static_cast<uint32_t>(coordinate(64)), y = static_cast<uint32_t>(coordinate(64));
    const uint32_t w = dimension(), h = dimension();
    const uint32_t bw = chance(80) ? x + w : dimension(), bh = chance(80) ? y + h : dimension();
    const uint32_t fourcc = drm_fourcc();
    const uint64_t modifier = chance(80) ? 0 : kModifierInvalid;
    std::vector<uint32_t> offsets, strides;
    std::vector<Memfd> buffers;
    for (size_t p = 0; p < array_len; p++) {
        strides.push_back(static_cast<uint32_t>(stride_for(uint64_t{bw} * 4)));
        offsets.push_back(chance(80) ? 0 : static_cast<uint32_t>(rng_()));
    }
    for (size_t p = 0; p < fd_count; p++)
        buffers.push_back(memfd_for(uint64_t{p < strides.size() ? strides[p] : bw * 4u} * bh));
    for (const auto &l : con.listeners) {
        if (!l->dmabuf2_proxy)
            continue;
        GObjPtr<GUnixFDList> fds(g_unix_fd_list_new());
        GVariantBuilder ah;
        g_variant_builder_init(&ah, G_VARIANT_TYPE("ah"));
        for (const auto &b : buffers)
            g_variant_builder_add(&ah, "h", g_unix_fd_list_append(fds.get(), b.fd.get(), nullptr));
        send(l->dmabuf2_proxy.get(), "ScanoutDMABUF2",
             g_variant_new("(@ahuuuu@au@auuuuutb)", g_variant_builder_end(&ah), x, y, w, h,
                           au(offsets), au(strides), planes, fourcc, bw, bh, modifier, chance(50)),
             fds.get());
    }
    for (auto &b : buffers)
        shrink_later(std::move(b));
    remember_size(con, w, h);
    for (uint64_t n = below(4); n > 0; n--)
        update_dmabuf(con);
}

void HostileRun::update_dmabuf(Console &con) {
    const auto [x, y, w, h] = rect(con);
    for (const auto &l : con.listeners)
        send(l->proxy.get(), "UpdateDMABUF", g_variant_new("(iiii)", x, y, w, h));
}

void HostileRun::scanout_map(Console &con) {
    const uint32_t w = dimension(), h = dimension(), format = pixman_format();
    const auto stride =
        static_cast<uint32_t>(stride_for(uint64_t{w} * pixman_bytes_per_pixel(format)));
    const uint32_t offset =
        chance(80) ? 0 : static_cast<uint32_t>(chance(50) ? below(8192) : rng_());
    Memfd m = memfd_for(uint64_t{offset} + uint64_t{stride} * h);
    for (const auto &l : con.listeners) {
        if (!l->map_proxy)
            continue;
        GObjPtr<GUnixFDList> fds(g_unix_fd_list_new());
        g_unix_fd_list_append(fds.get(), m.fd.get(), nullptr);
        // QEMU makes this call blocking; here it waits like any other, so the storm goes on.
        send(l->map_proxy.get(), "ScanoutMap",
             g_variant_new("(huuuuu)", 0, offset, w, h, stride, format), fds.get());
    }
    shrink_later(std::move(m));
    remember_size(con, w, h);
    for (uint64_t n = below(4); n > 0; n--)
        update_map(con);
}

void HostileRun::update_map(Console &con) {
    const auto [x, y, w, h] = rect(con);
    for (const auto &l : con.listeners)
        if (l->map_proxy)
            send(l->map_proxy.get(), "UpdateMap", g_variant_new("(iiii)", x, y, w, h));
}

// Console.Width/Height change alone (as on 7.2's text-mode switch), or the console leaves the
// ObjectManager for a few steps (its listener stays: QEMU never closes one on its own).
void HostileRun::resize_or_vanish(Console &con) {
    if (chance(80)) {
        set_console_size(con, dimension(), dimension());
        stats_.resized++;
        return;
    }
    if (std::find(gone_.begin(), gone_.end(), con.index) != gone_.end())
        return;
    g_dbus_object_manager_server_unexport(
        app_.server.get(), g_dbus_object_get_object_path(G_DBUS_OBJECT(con.object.get())));
    gone_.push_back(con.index);
    stats_.vanished++;
}

void HostileRun::reappear_all() {
    for (unsigned index : gone_)
        g_dbus_object_manager_server_export(app_.server.get(), app_.consoles[index]->object.get());
    gone_.clear();
}

} // namespace fakeqemu
