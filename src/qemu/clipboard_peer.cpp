#include "qemu/clipboard_peer.h"

#include "qemu-display1.h"

namespace vmcast::qemu {
namespace {

constexpr const char *kClipboardPath = "/org/qemu/Display1/Clipboard";
constexpr const char *kClipboardInterface = "org.qemu.Display1.Clipboard";
constexpr uint32_t kClipboardSelection = 0; // QEMU_CLIPBOARD_SELECTION_CLIPBOARD
// QEMU answers Register and Grab at once, and a Request within 5 s (its own time-out).
constexpr int kCallTimeoutMs = 10000;

bool is_cancelled(const GError *error) {
    return error && g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
}

bool offers_text(const gchar *const *mimes) {
    return mimes && g_strv_contains(mimes, kClipboardTextMime);
}

void refuse(GDBusMethodInvocation *invocation, const char *message) {
    g_dbus_method_invocation_return_dbus_error(invocation, "org.freedesktop.DBus.Error.Failed",
                                               message);
}

// The reply of a call made with call_qemu: nullptr and error set when it failed.
GVariantPtr finish_call(GObject *connection, GAsyncResult *result, GErrorPtr &error) {
    GError *raw = nullptr;
    GVariantPtr reply(g_dbus_connection_call_finish(G_DBUS_CONNECTION(connection), result, &raw));
    error.reset(raw);
    return reply;
}

} // namespace

bool clipboard_text_from_bytes(std::string_view bytes, std::string &text, std::string &error) {
    if (!bytes.empty() && bytes.back() == '\0')
        bytes.remove_suffix(1);
    if (bytes.size() > kMaxClipboardBytes) {
        error = "clipboard text of " + std::to_string(bytes.size()) + " bytes is over the " +
                std::to_string(kMaxClipboardBytes) + "-byte limit";
        return false;
    }
    if (!g_utf8_validate_len(bytes.data(), bytes.size(), nullptr)) {
        error = "clipboard text is not valid UTF-8 (or holds a NUL byte)";
        return false;
    }
    text.assign(bytes);
    return true;
}

ClipboardPeer::ClipboardPeer(GDBusConnection *connection, std::string bus_name, Hooks hooks)
    : connection_(connection), bus_name_(std::move(bus_name)), hooks_(std::move(hooks)),
      skeleton_(qemu_display_clipboard_skeleton_new()) {
    const char *const no_extra_interfaces[] = {nullptr};
    qemu_display_clipboard_set_interfaces(skeleton_.get(), no_extra_interfaces);
    g_object_connect(skeleton_.get(), "signal::handle-register", G_CALLBACK(on_register), this,
                     "signal::handle-unregister", G_CALLBACK(on_unregister), this,
                     "signal::handle-grab", G_CALLBACK(on_grab), this, "signal::handle-release",
                     G_CALLBACK(on_release), this, "signal::handle-request", G_CALLBACK(on_request),
                     this, nullptr);
}

ClipboardPeer::~ClipboardPeer() {
    g_cancellable_cancel(cancellable_.get());
    if (registered_)
        // Not through call_qemu: its cancellable is cancelled, and nobody waits for the answer.
        g_dbus_connection_call(connection_, qemu_bus_name(), kClipboardPath, kClipboardInterface,
                               "Unregister", nullptr, nullptr, G_DBUS_CALL_FLAGS_NONE,
                               kCallTimeoutMs, nullptr, nullptr, nullptr);
    g_signal_handlers_disconnect_by_data(skeleton_.get(), this);
    g_dbus_interface_skeleton_unexport(G_DBUS_INTERFACE_SKELETON(skeleton_.get()));
}

void ClipboardPeer::start() {
    GError *raw = nullptr;
    if (!g_dbus_interface_skeleton_export(G_DBUS_INTERFACE_SKELETON(skeleton_.get()), connection_,
                                          kClipboardPath, &raw)) {
        GErrorPtr error(raw);
        unshared_reason_ = std::string("vmcast cannot export its clipboard: ") + error->message;
        g_warning("%s", unshared_reason_.c_str());
        return;
    }
    unshared_reason_ = "the VM's clipboard is not registered yet";
    // QEMU reads our side's properties while it handles Register: the call must not block us.
    call_qemu("Register", nullptr, nullptr,
              [](GObject *connection, GAsyncResult *result, gpointer data) {
                  GErrorPtr error;
                  GVariantPtr reply = finish_call(connection, result, error);
                  if (is_cancelled(error.get()))
                      return;
                  auto *self = static_cast<ClipboardPeer *>(data);
                  if (!reply) {
                      // Typically "Clipboard peer already registered!": another client has it.
                      self->unshared_reason_ =
                          std::string("the VM's clipboard is not shared: ") + error->message;
                      g_warning("%s", self->unshared_reason_.c_str());
                      return;
                  }
                  self->registered_ = true;
                  g_info("sharing the VM's text clipboard");
              });
}

bool ClipboardPeer::offer(std::string text, std::string &error) {
    if (!registered_) {
        error = unshared_reason_;
        return false;
    }
    std::string checked;
    if (!clipboard_text_from_bytes(text, checked, error))
        return false;
    offered_text_ = std::move(checked);
    const char *mimes[] = {kClipboardTextMime, nullptr};
    call_qemu("Grab", g_variant_new("(uu^as)", kClipboardSelection, ++serial_, mimes), nullptr,
              [](GObject *connection, GAsyncResult *result, gpointer) {
                  GErrorPtr error;
                  GVariantPtr reply = finish_call(connection, result, error);
                  if (!reply && !is_cancelled(error.get()))
                      g_warning("QEMU refused vmcast's clipboard text: %s", error->message);
              });
    g_debug("clipboard: offered %zu bytes to the guest (serial %u)", offered_text_->size(),
            serial_);
    return true;
}

void ClipboardPeer::call_qemu(const char *method, GVariant *parameters,
                              const GVariantType *reply_type, GAsyncReadyCallback done) {
    g_dbus_connection_call(connection_, qemu_bus_name(), kClipboardPath, kClipboardInterface,
                           method, parameters, reply_type, G_DBUS_CALL_FLAGS_NONE, kCallTimeoutMs,
                           cancellable_.get(), done, this);
}

bool ClipboardPeer::from_qemu(GDBusMethodInvocation *invocation) const {
    // On a bus anyone can call our object; only QEMU may set or read the clipboard. A p2p
    // connection has QEMU alone at its other end.
    const char *sender = g_dbus_method_invocation_get_sender(invocation);
    if (bus_name_.empty() || g_strcmp0(sender, bus_name_.c_str()) == 0)
        return true;
    g_debug("clipboard: refused a call from %s, which is not QEMU", sender ? sender : "?");
    g_dbus_method_invocation_return_dbus_error(invocation,
                                               "org.freedesktop.DBus.Error.AccessDenied",
                                               "only the VM may use this clipboard");
    return false;
}

gboolean ClipboardPeer::on_register(QemuDisplayClipboard *skeleton,
                                    GDBusMethodInvocation *invocation, gpointer data) {
    auto *self = static_cast<ClipboardPeer *>(data);
    if (self->from_qemu(invocation)) {
        self->serial_ = 0; // QEMU restarts the count (after a conflict between grabs)
        qemu_display_clipboard_complete_register(skeleton, invocation);
    }
    return TRUE;
}

gboolean ClipboardPeer::on_unregister(QemuDisplayClipboard *skeleton,
                                      GDBusMethodInvocation *invocation, gpointer data) {
    if (static_cast<ClipboardPeer *>(data)->from_qemu(invocation))
        qemu_display_clipboard_complete_unregister(skeleton, invocation);
    return TRUE;
}

gboolean ClipboardPeer::on_grab(QemuDisplayClipboard *skeleton, GDBusMethodInvocation *invocation,
                                guint selection, guint serial, const gchar *const *mimes,
                                gpointer data) {
    auto *self = static_cast<ClipboardPeer *>(data);
    if (!self->from_qemu(invocation))
        return TRUE;
    qemu_display_clipboard_complete_grab(skeleton, invocation);
    if (selection != kClipboardSelection)
        return TRUE;
    g_debug("clipboard: the guest copied (serial %u)", serial);
    self->serial_ = serial;
    self->offered_text_.reset();
    if (offers_text(mimes))
        self->fetch_guest_text();
    return TRUE;
}

gboolean ClipboardPeer::on_release(QemuDisplayClipboard *skeleton,
                                   GDBusMethodInvocation *invocation, guint selection,
                                   gpointer data) {
    auto *self = static_cast<ClipboardPeer *>(data);
    if (!self->from_qemu(invocation))
        return TRUE;
    if (selection == kClipboardSelection)
        self->guest_text_.reset();
    qemu_display_clipboard_complete_release(skeleton, invocation);
    return TRUE;
}

gboolean ClipboardPeer::on_request(QemuDisplayClipboard *skeleton,
                                   GDBusMethodInvocation *invocation, guint selection,
                                   const gchar *const *mimes, gpointer data) {
    auto *self = static_cast<ClipboardPeer *>(data);
    if (!self->from_qemu(invocation))
        return TRUE;
    if (selection != kClipboardSelection || !self->offered_text_) {
        refuse(invocation, "vmcast holds no clipboard text for this selection");
        return TRUE;
    }
    if (!offers_text(mimes)) {
        refuse(invocation, "vmcast only has text/plain;charset=utf-8");
        return TRUE;
    }
    const std::string &text = *self->offered_text_;
    qemu_display_clipboard_complete_request(
        skeleton, invocation, kClipboardTextMime,
        g_variant_new_fixed_array(G_VARIANT_TYPE_BYTE, text.data(), text.size(), 1));
    g_debug("clipboard: the guest pasted %zu bytes", text.size());
    return TRUE;
}

void ClipboardPeer::fetch_guest_text() {
    if (fetching_) {
        fetch_again_ = true;
        return;
    }
    fetching_ = true;
    const char *mimes[] = {kClipboardTextMime, nullptr};
    call_qemu(
        "Request", g_variant_new("(u^as)", kClipboardSelection, mimes), G_VARIANT_TYPE("(say)"),
        [](GObject *connection, GAsyncResult *result, gpointer data) {
            GErrorPtr error;
            GVariantPtr reply = finish_call(connection, result, error);
            if (!is_cancelled(error.get()))
                static_cast<ClipboardPeer *>(data)->guest_text_arrived(reply.get(), error.get());
        });
}

void ClipboardPeer::guest_text_arrived(GVariant *reply, const GError *error) {
    fetching_ = false;
    if (fetch_again_) {
        fetch_again_ = false;
        fetch_guest_text(); // this answer is already stale
        return;
    }
    if (!reply) {
        g_message("the guest's clipboard could not be read: %s", error->message);
        return;
    }
    const char *mime = nullptr;
    GVariantPtr data;
    {
        GVariant *raw = nullptr;
        g_variant_get(reply, "(&s@ay)", &mime, &raw);
        data.reset(raw);
    }
    if (g_strcmp0(mime, kClipboardTextMime) != 0) {
        g_message("the guest's clipboard came as '%s', not text; ignored", mime);
        return;
    }
    gsize size = 0;
    const auto *bytes = static_cast<const char *>(g_variant_get_fixed_array(data.get(), &size, 1));
    std::string text, why;
    if (!clipboard_text_from_bytes(std::string_view(bytes ? bytes : "", size), text, why)) {
        g_message("the guest's clipboard was not passed on: %s", why.c_str());
        return;
    }
    g_debug("clipboard: %zu bytes from the guest", text.size());
    guest_text_ = text;
    if (hooks_.guest_copied)
        hooks_.guest_copied(text);
}

} // namespace vmcast::qemu
