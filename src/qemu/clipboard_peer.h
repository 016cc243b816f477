// The VM's text clipboard through org.qemu.Display1.Clipboard (QEMU 7.0 and later).
//
// vmcast registers as QEMU's one clipboard peer: it exports the interface on its own connection
// at /org/qemu/Display1/Clipboard, then calls Register on QEMU's. When the guest copies, QEMU
// calls our Grab and vmcast fetches the text with QEMU's Request. When a user copies text to the
// VM, vmcast calls QEMU's Grab, and QEMU (for the guest's paste) calls our Request, answered at
// once from memory because QEMU waits for it with its main loop blocked.
//
// Only the CLIPBOARD selection and text/plain;charset=utf-8 are shared (browsers have no
// PRIMARY selection; QEMU offers nothing but that MIME type). Everything from QEMU is untrusted:
// only QEMU's own connection may call us, and text is size-limited and checked to be UTF-8.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include <gio/gio.h>

#include "common/glib_ptr.h"

typedef struct _QemuDisplayClipboard QemuDisplayClipboard;

namespace vmcast::qemu {

inline constexpr size_t kMaxClipboardBytes = 1024 * 1024;
inline constexpr const char *kClipboardTextMime = "text/plain;charset=utf-8";

// Clipboard data as text: at most kMaxClipboardBytes of valid UTF-8, with one trailing NUL (as
// some guest agents send) dropped. false and a one-line reason otherwise.
bool clipboard_text_from_bytes(std::string_view bytes, std::string &text, std::string &error);

class ClipboardPeer {
  public:
    struct Hooks {
        std::function<void(const std::string &text)> guest_copied; // new text from the guest
    };

    // bus_name is QEMU's on the bus, or empty on a peer-to-peer connection.
    ClipboardPeer(GDBusConnection *connection, std::string bus_name, Hooks hooks);
    ClipboardPeer(const ClipboardPeer &) = delete;
    ClipboardPeer &operator=(const ClipboardPeer &) = delete;
    // Unregisters, so another client may take the clipboard.
    ~ClipboardPeer();

    // Exports our side and registers without blocking; failures are logged (another client may
    // hold QEMU's clipboard), and the clipboard then stays unshared.
    void start();
    bool shared() const { return registered_; }
    // Makes text the VM's clipboard content. false and why not in error.
    bool offer(std::string text, std::string &error);
    // What the guest copied last, if anything.
    const std::optional<std::string> &guest_text() const { return guest_text_; }

  private:
    static gboolean on_register(QemuDisplayClipboard *, GDBusMethodInvocation *, gpointer self);
    static gboolean on_unregister(QemuDisplayClipboard *, GDBusMethodInvocation *, gpointer self);
    static gboolean on_grab(QemuDisplayClipboard *, GDBusMethodInvocation *, guint selection,
                            guint serial, const gchar *const *mimes, gpointer self);
    static gboolean on_release(QemuDisplayClipboard *, GDBusMethodInvocation *, guint selection,
                               gpointer self);
    static gboolean on_request(QemuDisplayClipboard *, GDBusMethodInvocation *, guint selection,
                               const gchar *const *mimes, gpointer self);

    // QEMU's name for calls: nullptr on a peer-to-peer connection.
    const char *qemu_bus_name() const { return bus_name_.empty() ? nullptr : bus_name_.c_str(); }
    // false (and the call answered with an error) when the caller is not QEMU.
    bool from_qemu(GDBusMethodInvocation *invocation) const;
    void call_qemu(const char *method, GVariant *parameters, const GVariantType *reply_type,
                   GAsyncReadyCallback done);
    void fetch_guest_text();
    void guest_text_arrived(GVariant *reply, const GError *error);

    GDBusConnection *connection_;
    std::string bus_name_;
    Hooks hooks_;
    GObjectPtr<QemuDisplayClipboard> skeleton_;
    GObjectPtr<GCancellable> cancellable_{g_cancellable_new()};
    bool registered_ = false;
    std::string unshared_reason_; // why offer() fails while not registered
    // QEMU gives the grab to the highest serial; vmcast's grabs go one above the last it saw.
    uint32_t serial_ = 0;
    std::optional<std::string> offered_text_; // ours while QEMU has not seen a newer grab
    std::optional<std::string> guest_text_;
    bool fetching_ = false;
    bool fetch_again_ = false; // the guest copied again while a fetch was under way
};

} // namespace vmcast::qemu
