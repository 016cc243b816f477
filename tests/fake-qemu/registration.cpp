// Console.RegisterListener as QEMU does it (ui/dbus-console.c, ui/dbus-listener.c): answer
// first, then a blocking p2p server handshake and blocking proxy creation (GetAll) on the
// caller's socket, then replay of the current display state.
#include "app.hpp"

#include <algorithm>

namespace fakeqemu {

namespace {

constexpr const char *kListenerPath = "/org/qemu/Display1/Listener";
constexpr const char *kMapIface = "org.qemu.Display1.Listener.Unix.Map";
constexpr const char *kDmabuf2Iface = "org.qemu.Display1.Listener.Unix.ScanoutDMABUF2";

void check_waiter(App &app) {
    if (!app.waiter)
        return;
    Waiter &w = *app.waiter;
    size_t n = app.consoles[w.console]->listeners.size();
    if (w.want_none ? n != 0 : n < w.count)
        return;
    if (w.timeout_id != 0)
        g_source_remove(w.timeout_id);
    CommandPtr cmd = w.cmd;
    app.waiter.reset();
    cmd->extra.add("listeners", static_cast<uint64_t>(n));
    finish_ok(app, cmd);
}

gboolean on_wait_timeout(gpointer data) {
    auto *app = static_cast<App *>(data);
    if (app->waiter) {
        CommandPtr cmd = app->waiter->cmd;
        unsigned console = app->waiter->console;
        app->waiter.reset();
        cmd->extra.add("listeners",
                       static_cast<uint64_t>(app->consoles[console]->listeners.size()));
        finish_error(*app, cmd, "fake-qemu.Timeout",
                     "timed out waiting for listeners on console " + std::to_string(console));
    }
    return G_SOURCE_REMOVE;
}

void on_listener_closed(GDBusConnection *, gboolean remote_vanished, GError *error, gpointer data) {
    auto *l = static_cast<Listener *>(data);
    App &app = *l->app;
    Console &con = *app.consoles[l->console];
    Json ev;
    ev.add("event", "listener-closed").add("console", l->console).add("listener", l->id);
    ev.add("remote_vanished", static_cast<bool>(remote_vanished));
    if (error != nullptr)
        ev.add("message", error->message);
    emit(ev);
    // Erasing may destroy *l; GDBus holds a reference to the connection during the emission.
    std::erase_if(con.listeners, [l](const ListenerPtr &p) { return p.get() == l; });
    check_waiter(app);
}

void fail_registration(Console &con, const char *stage, const GError *err, int64_t since) {
    emit(Json()
             .add("event", "listener-failed")
             .add("console", con.index)
             .add("stage", stage)
             .add("message", err ? err->message : "")
             .add("elapsed_us", now_us() - since));
}

template <typename T>
GDBusProxy *new_proxy(T *(*ctor)(GDBusConnection *, GDBusProxyFlags, const char *, const char *,
                                 GCancellable *, GError **),
                      GDBusConnection *conn, GError **err) {
    T *p = ctor(conn, G_DBUS_PROXY_FLAGS_DO_NOT_AUTO_START, nullptr, kListenerPath, nullptr, err);
    return p ? G_DBUS_PROXY(p) : nullptr;
}

} // namespace

Listener::~Listener() {
    if (conn && closed_id != 0)
        g_signal_handler_disconnect(conn.get(), closed_id);
}

gboolean on_register_listener(QemuDisplayConsole *iface, GDBusMethodInvocation *inv,
                              GUnixFDList *fd_list, GVariant *handle, gpointer data) {
    Console &con = *static_cast<Console *>(data);
    App &app = *con.app;
    const char *sender = g_dbus_method_invocation_get_sender(inv);
    const std::string key = sender ? sender : "p2p";

    if (!app.at_least(kV92) && sender != nullptr) {
        for (const auto &l : con.listeners) {
            if (l->key == key) {
                g_autofree char *msg = g_strdup_printf("`%s` is already registered!", sender);
                emit(Json()
                         .add("event", "listener-rejected")
                         .add("console", con.index)
                         .add("sender", sender)
                         .add("message", msg));
                g_dbus_method_invocation_return_dbus_error(inv, "org.qemu.Display1.Error.Invalid",
                                                           msg);
                return TRUE;
            }
        }
    }

    g_autoptr(GError) err = nullptr;
    int fd = -1;
    if (fd_list == nullptr)
        g_set_error_literal(&err, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "no fd list");
    else
        fd = g_unix_fd_list_get(fd_list, g_variant_get_handle(handle), &err);
    if (fd < 0) {
        g_autofree char *msg = g_strdup_printf("Couldn't get peer fd: %s", err->message);
        g_dbus_method_invocation_return_dbus_error(inv, "org.qemu.Display1.Error.Failed", msg);
        return TRUE;
    }
    g_autoptr(GSocket) socket = g_socket_new_from_fd(fd, &err);
    if (socket == nullptr) {
        close(fd);
        g_autofree char *msg = g_strdup_printf("Couldn't make a socket: %s", err->message);
        g_dbus_method_invocation_return_dbus_error(inv, "org.qemu.Display1.Error.Failed", msg);
        return TRUE;
    }
    g_autoptr(GSocketConnection) stream = g_socket_connection_factory_create_connection(socket);
    qemu_display_console_complete_register_listener(iface, inv, nullptr);

    emit(
        Json().add("event", "listener-connecting").add("console", con.index).add("sender", sender));
    // Both steps block the main loop, as in QEMU.
    const int64_t t0 = now_us();
    g_autofree char *guid = g_dbus_generate_guid();
    GObjPtr<GDBusConnection> conn(g_dbus_connection_new_sync(
        G_IO_STREAM(stream), guid, G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_SERVER, nullptr, nullptr,
        &err));
    if (!conn) {
        fail_registration(con, "auth", err, t0);
        return TRUE;
    }
    const int64_t t1 = now_us();
    GObjPtr<GDBusProxy> proxy(new_proxy(qemu_display_listener_proxy_new_sync, conn.get(), &err));
    if (!proxy) {
        fail_registration(con, "proxy", err, t0);
        return TRUE;
    }
    const int64_t t2 = now_us();

    auto l = std::make_shared<Listener>();
    l->app = &app;
    l->id = app.next_listener_id++;
    l->console = con.index;
    l->key = key;
    if (const char *const *ifaces =
            qemu_display_listener_get_interfaces(QEMU_DISPLAY_LISTENER(proxy.get()))) {
        for (; *ifaces; ifaces++)
            l->interfaces.emplace_back(*ifaces);
    }
    auto advertised = [&](const char *name) {
        return std::find(l->interfaces.begin(), l->interfaces.end(), name) != l->interfaces.end();
    };
    if (app.at_least(kV92) && advertised(kMapIface)) {
        l->map_proxy.reset(
            new_proxy(qemu_display_listener_unix_map_proxy_new_sync, conn.get(), &err));
        l->map_ok = static_cast<bool>(l->map_proxy);
        g_clear_error(&err);
    }
    if (app.at_least(kV101) && advertised(kDmabuf2Iface)) {
        l->dmabuf2_proxy.reset(
            new_proxy(qemu_display_listener_unix_scanout_dmabuf2_proxy_new_sync, conn.get(), &err));
        g_clear_error(&err);
    }
    l->conn = std::move(conn);
    l->proxy = std::move(proxy);

    // Up to 9.1 listeners are keyed by sender: in p2p mode (no sender) a new one replaces the
    // old one.
    if (!app.at_least(kV92)) {
        for (auto it = con.listeners.begin(); it != con.listeners.end(); ++it) {
            if ((*it)->key == key) {
                ListenerPtr old = *it;
                con.listeners.erase(it);
                emit(Json()
                         .add("event", "listener-replaced")
                         .add("console", con.index)
                         .add("listener", old->id));
                g_dbus_connection_close(old->conn.get(), nullptr, nullptr, nullptr);
                break;
            }
        }
    }
    l->closed_id =
        g_signal_connect(l->conn.get(), "closed", G_CALLBACK(on_listener_closed), l.get());
    con.listeners.push_back(l);

    emit(Json()
             .add("event", "listener")
             .add("console", con.index)
             .add("listener", l->id)
             .add("sender", sender)
             .add("interfaces", l->interfaces)
             .add("map", static_cast<bool>(l->map_proxy))
             .add("dmabuf2", static_cast<bool>(l->dmabuf2_proxy))
             .add("auth_us", t1 - t0)
             .add("getall_us", t2 - t1));

    std::vector<std::string> sent;
    replay_gpu(con, l, sent);
    replay_2d(con, l, sent);
    if (!sent.empty())
        emit(Json()
                 .add("event", "replay")
                 .add("console", con.index)
                 .add("listener", l->id)
                 .add("sent", sent));
    check_waiter(app);
    return TRUE;
}

void cmd_wait_listener(App &app, const CommandPtr &cmd, bool want_none) {
    Console &con = app.console_arg(cmd->args);
    const std::string t = cmd->args.str("timeout", "10");
    char *end = nullptr;
    double seconds = g_ascii_strtod(t.c_str(), &end);
    if (end == t.c_str() || *end != '\0' || seconds < 0)
        throw CommandError(kBadCommand, "timeout: not a number of seconds");
    Waiter w;
    w.cmd = cmd;
    w.console = con.index;
    w.count = want_none ? 0 : cmd->args.u32("count", 1);
    w.want_none = want_none;
    app.waiter = std::move(w);
    check_waiter(app);
    if (app.waiter)
        app.waiter->timeout_id =
            g_timeout_add(static_cast<guint>(seconds * 1000.0), on_wait_timeout, &app);
}

void drop_all_listeners(App &app) {
    for (auto &con : app.consoles)
        con->listeners.clear();
}

} // namespace fakeqemu
