// QEMU's side of org.qemu.Display1.Clipboard (ui/dbus-clipboard.c), with a pretend guest:
// one registered client; Grab, Release and Request only from it; the guest's text served to the
// client's Request; the client's text fetched with a Request to the client, as QEMU does when
// the guest pastes.
#include "app.hpp"

namespace fakeqemu {
namespace {

constexpr const char *kPath = "/org/qemu/Display1/Clipboard";
constexpr const char *kInterface = "org.qemu.Display1.Clipboard";
constexpr const char *kTextMime = "text/plain;charset=utf-8";
constexpr const char *kFailed = "org.qemu.Display1.Error.Failed";

std::vector<std::string> strings_of(const gchar *const *strv) {
    std::vector<std::string> out;
    for (; strv && *strv; strv++)
        out.emplace_back(*strv);
    return out;
}

// The registered client's name for calls: its unique name, or null on a p2p connection.
const char *peer_destination(const ClipboardState &clipboard) {
    return clipboard.peer == "p2p" ? nullptr : clipboard.peer.c_str();
}

bool from_registered_peer(App &app, GDBusMethodInvocation *inv) {
    const char *sender = g_dbus_method_invocation_get_sender(inv);
    const std::string caller = sender ? sender : "p2p";
    if (app.clipboard.peer.empty() || app.clipboard.peer != caller) {
        g_dbus_method_invocation_return_dbus_error(inv, kFailed, "Unregistered caller");
        return false;
    }
    return true;
}

void forget_peer(App &app) {
    if (app.clipboard.peer_watch)
        g_bus_unwatch_name(app.clipboard.peer_watch);
    app.clipboard.peer_watch = 0;
    app.clipboard.peer.clear();
}

// Like QEMU's proxy losing its name owner: a client that leaves the bus is unregistered.
void on_peer_vanished(GDBusConnection *, const gchar *name, gpointer data) {
    App &app = *static_cast<App *>(data);
    emit(Json().add("event", "clipboard-unregister").add("peer", name).add("vanished", true));
    forget_peer(app);
}

gboolean on_register(QemuDisplayClipboard *iface, GDBusMethodInvocation *inv, gpointer data) {
    App &app = *static_cast<App *>(data);
    if (!app.clipboard.peer.empty()) {
        g_dbus_method_invocation_return_dbus_error(inv, kFailed,
                                                   "Clipboard peer already registered!");
        return TRUE;
    }
    const char *sender = g_dbus_method_invocation_get_sender(inv);
    app.clipboard.peer = sender ? sender : "p2p";
    if (sender)
        app.clipboard.peer_watch =
            g_bus_watch_name_on_connection(app.conn.get(), sender, G_BUS_NAME_WATCHER_FLAGS_NONE,
                                           nullptr, on_peer_vanished, &app, nullptr);
    emit(Json().add("event", "clipboard-register").add("peer", app.clipboard.peer));
    qemu_display_clipboard_complete_register(iface, inv);
    return TRUE;
}

gboolean on_unregister(QemuDisplayClipboard *iface, GDBusMethodInvocation *inv, gpointer data) {
    App &app = *static_cast<App *>(data);
    if (!from_registered_peer(app, inv))
        return TRUE;
    emit(Json().add("event", "clipboard-unregister").add("peer", app.clipboard.peer));
    forget_peer(app);
    qemu_display_clipboard_complete_unregister(iface, inv);
    return TRUE;
}

gboolean on_grab(QemuDisplayClipboard *iface, GDBusMethodInvocation *inv, guint selection,
                 guint serial, const gchar *const *mimes, gpointer data) {
    App &app = *static_cast<App *>(data);
    if (!from_registered_peer(app, inv))
        return TRUE;
    if (selection > 2) {
        g_dbus_method_invocation_return_dbus_error(inv, kFailed, "Invalid clipboard selection");
        return TRUE;
    }
    // QEMU keeps the grab with the highest serial; the client wins a tie.
    const bool taken = serial >= app.clipboard.serial;
    if (taken && selection == 0) {
        app.clipboard.serial = serial;
        app.clipboard.guest_owns = false;
    }
    emit(Json()
             .add("event", "clipboard-grab")
             .add("selection", selection)
             .add("serial", serial)
             .add("mimes", strings_of(mimes))
             .add("taken", taken));
    qemu_display_clipboard_complete_grab(iface, inv);
    return TRUE;
}

gboolean on_release(QemuDisplayClipboard *iface, GDBusMethodInvocation *inv, guint selection,
                    gpointer data) {
    App &app = *static_cast<App *>(data);
    if (!from_registered_peer(app, inv))
        return TRUE;
    emit(Json().add("event", "clipboard-release").add("selection", selection));
    qemu_display_clipboard_complete_release(iface, inv);
    return TRUE;
}

gboolean on_request(QemuDisplayClipboard *iface, GDBusMethodInvocation *inv, guint selection,
                    const gchar *const *mimes, gpointer data) {
    App &app = *static_cast<App *>(data);
    if (!from_registered_peer(app, inv))
        return TRUE;
    ClipboardState &clipboard = app.clipboard;
    emit(Json()
             .add("event", "clipboard-request")
             .add("selection", selection)
             .add("mimes", strings_of(mimes)));
    if (selection != 0 || !clipboard.guest_owns) {
        g_dbus_method_invocation_return_dbus_error(inv, kFailed, "Empty clipboard");
        return TRUE;
    }
    if (!g_strv_contains(mimes, kTextMime)) {
        g_dbus_method_invocation_return_dbus_error(inv, kFailed, "Unhandled MIME types requested");
        return TRUE;
    }
    const std::string &text = clipboard.guest_text;
    qemu_display_clipboard_complete_request(
        iface, inv, clipboard.guest_mime.c_str(),
        g_variant_new_fixed_array(G_VARIANT_TYPE_BYTE, text.data(), text.size(), 1));
    return TRUE;
}

// The text of a command: text_hex= (any bytes, for bad input), size= (that many 'x'), or none.
std::string command_text(const Args &args) {
    if (args.has("size"))
        return std::string(args.u32("size"), 'x');
    const std::string hex = args.str("text_hex");
    if (hex.size() % 2)
        throw CommandError(kBadCommand, "text_hex: an even number of hex digits");
    std::string bytes;
    for (size_t i = 0; i < hex.size(); i += 2)
        bytes.push_back(char(parse_u64("text_hex", "0x" + hex.substr(i, 2))));
    return bytes;
}

ClipboardState &registered(App &app) {
    if (app.clipboard.peer.empty())
        throw CommandError(kNoListener, "no clipboard peer registered");
    return app.clipboard;
}

void call_peer(App &app, const CommandPtr &cmd, const char *method, GVariant *params,
               const GVariantType *reply_type, std::function<void(GVariant *)> on_reply) {
    struct Pending {
        App *app;
        CommandPtr cmd;
        std::function<void(GVariant *)> on_reply;
    };
    g_dbus_connection_call(
        app.conn.get(), peer_destination(app.clipboard), kPath, kInterface, method, params,
        reply_type, G_DBUS_CALL_FLAGS_NONE, kDefaultTimeoutMs, nullptr,
        [](GObject *source, GAsyncResult *res, gpointer data) {
            std::unique_ptr<Pending> pending(static_cast<Pending *>(data));
            g_autoptr(GError) err = nullptr;
            g_autoptr(GVariant) reply =
                g_dbus_connection_call_finish(G_DBUS_CONNECTION(source), res, &err);
            if (!reply) {
                std::string name, message;
                describe_error(err, name, message);
                finish_error(*pending->app, pending->cmd, name, message);
                return;
            }
            if (pending->on_reply)
                pending->on_reply(reply);
            finish_ok(*pending->app, pending->cmd);
        },
        new Pending{&app, cmd, std::move(on_reply)});
}

} // namespace

void create_clipboard(App &app) {
    app.clipboard.object.reset(g_dbus_object_skeleton_new(kPath));
    app.clipboard.iface.reset(qemu_display_clipboard_skeleton_new());
    if (app.at_least(kV81)) {
        const char *const none[] = {nullptr};
        qemu_display_clipboard_set_interfaces(app.clipboard.iface.get(), none);
    }
    g_object_connect(app.clipboard.iface.get(), "signal::handle-register", G_CALLBACK(on_register),
                     &app, "signal::handle-unregister", G_CALLBACK(on_unregister), &app,
                     "signal::handle-grab", G_CALLBACK(on_grab), &app, "signal::handle-release",
                     G_CALLBACK(on_release), &app, "signal::handle-request", G_CALLBACK(on_request),
                     &app, nullptr);
    g_dbus_object_skeleton_add_interface(app.clipboard.object.get(),
                                         G_DBUS_INTERFACE_SKELETON(app.clipboard.iface.get()));
    g_dbus_object_manager_server_export(app.server.get(), app.clipboard.object.get());
}

// The guest copies: QEMU tells the client with Grab, and serves the text on its Request.
void cmd_clipboard_guest_copy(App &app, const CommandPtr &cmd) {
    ClipboardState &clipboard = registered(app);
    clipboard.guest_text = command_text(cmd->args);
    clipboard.guest_mime = cmd->args.str("mime", kTextMime);
    clipboard.guest_owns = true;
    clipboard.serial = cmd->args.u32("serial", clipboard.serial + 1);
    const std::string offered = cmd->args.str("offer", kTextMime);
    const char *mimes[] = {offered.c_str(), nullptr};
    call_peer(app, cmd, "Grab", g_variant_new("(uu^as)", 0u, clipboard.serial, mimes), nullptr, {});
}

// The guest pastes: QEMU asks the client for its text.
void cmd_clipboard_guest_paste(App &app, const CommandPtr &cmd) {
    registered(app);
    const char *mimes[] = {kTextMime, nullptr};
    call_peer(app, cmd, "Request", g_variant_new("(u^as)", 0u, mimes), G_VARIANT_TYPE("(say)"),
              [cmd](GVariant *reply) {
                  const char *mime = nullptr;
                  g_autoptr(GVariant) data = nullptr;
                  g_variant_get(reply, "(&s@ay)", &mime, &data);
                  gsize size = 0;
                  const auto *bytes =
                      static_cast<const char *>(g_variant_get_fixed_array(data, &size, 1));
                  cmd->extra.add("mime", mime).add("bytes", uint64_t(size));
                  if (g_utf8_validate_len(bytes, size, nullptr))
                      cmd->extra.add("text", std::string_view(bytes, size));
              });
}

// QEMU restarts the grab serials (after two peers' grabs crossed).
void cmd_clipboard_reset(App &app, const CommandPtr &cmd) {
    registered(app).serial = 0;
    call_peer(app, cmd, "Register", nullptr, nullptr, {});
}

} // namespace fakeqemu
