// The VM's clipboard as QEMU drives it (org.qemu.Display1.Clipboard): QEMU's calls to vmcast's
// clipboard (Grab, Release, Request with fuzzed selections, serials and MIME types) and its
// answers to vmcast's calls (Register, Request's MIME type and bytes), mixed with text a user
// copies in, against the real ClipboardPeer on a p2p D-Bus connection set up once.
#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <fuzzer/FuzzedDataProvider.h>

#include "common/glib_ptr.h"
#include "p2p_dbus.h"
#include "qemu-display1.h"
#include "qemu/clipboard_peer.h"

using namespace vmcast;

namespace {

constexpr const char *kPath = "/org/qemu/Display1/Clipboard";
constexpr const char *kInterface = "org.qemu.Display1.Clipboard";

struct Link {
    GDBusConnection *vmcast = nullptr;
    GDBusConnection *qemu = nullptr;
    QemuDisplayClipboard *qemu_side = nullptr;
};
Link bus;
FuzzedDataProvider *input = nullptr; // the input being run, for QEMU's side's answers
int activity = 0;                    // calls and answers seen, to tell when all is done
int pending = 0;                     // QEMU's calls to vmcast not answered yet

void iterate_until(const bool &done) {
    while (!done)
        g_main_context_iteration(nullptr, TRUE);
}

std::string any_string(size_t max_length) {
    GCharPtr valid(g_utf8_make_valid(input->ConsumeRandomLengthString(max_length).c_str(), -1));
    return valid.get();
}

std::string mime() {
    switch (input->ConsumeIntegralInRange(0, 3)) {
    case 0:
        return qemu::kClipboardTextMime;
    case 1:
        return "text/plain";
    case 2:
        return "image/png";
    default:
        return any_string(40);
    }
}

GVariant *mimes() {
    std::vector<std::string> list(input->ConsumeIntegralInRange(0, 3));
    for (std::string &item : list)
        item = mime();
    GVariantBuilder builder;
    g_variant_builder_init(&builder, G_VARIANT_TYPE("as"));
    for (const std::string &item : list)
        g_variant_builder_add(&builder, "s", item.c_str());
    return g_variant_builder_end(&builder);
}

uint32_t selection() {
    return input->ConsumeIntegralInRange<uint32_t>(0, 3);
}

void refuse(GDBusMethodInvocation *invocation) {
    g_dbus_method_invocation_return_dbus_error(invocation, "org.freedesktop.DBus.Error.Failed",
                                               "refused by the fuzzed QEMU");
}

// QEMU's answers to vmcast's calls.
gboolean on_register(QemuDisplayClipboard *skeleton, GDBusMethodInvocation *invocation, gpointer) {
    activity++;
    if (input->ConsumeBool())
        refuse(invocation);
    else
        qemu_display_clipboard_complete_register(skeleton, invocation);
    return TRUE;
}

gboolean on_request(QemuDisplayClipboard *skeleton, GDBusMethodInvocation *invocation, guint,
                    const gchar *const *, gpointer) {
    activity++;
    if (input->ConsumeBool()) {
        refuse(invocation);
        return TRUE;
    }
    const std::string type = mime();
    const std::vector<uint8_t> bytes =
        input->ConsumeBytes<uint8_t>(input->ConsumeIntegral<uint16_t>());
    qemu_display_clipboard_complete_request(
        skeleton, invocation, type.c_str(),
        g_variant_new_fixed_array(G_VARIANT_TYPE_BYTE, bytes.data(), bytes.size(), 1));
    return TRUE;
}

gboolean on_other(QemuDisplayClipboard *, GDBusMethodInvocation *invocation) {
    activity++;
    g_dbus_method_invocation_return_value(invocation, nullptr);
    return TRUE;
}

// Clipboard text as vmcast may pass it on, checked apart from the code under test.
bool passable(std::string_view text) {
    return text.size() <= qemu::kMaxClipboardBytes &&
           g_utf8_validate_len(text.data(), text.size(), nullptr);
}

// vmcast's answer to QEMU's Request: text only.
void check_request_answer(GObject *connection, GAsyncResult *result, gpointer) {
    GVariantPtr reply(
        g_dbus_connection_call_finish(G_DBUS_CONNECTION(connection), result, nullptr));
    if (reply) {
        const char *type = nullptr;
        GVariant *raw = nullptr;
        g_variant_get(reply.get(), "(&s@ay)", &type, &raw);
        GVariantPtr data(raw);
        gsize size = 0;
        const auto *bytes = static_cast<const char *>(g_variant_get_fixed_array(raw, &size, 1));
        if (g_strcmp0(type, qemu::kClipboardTextMime) != 0 ||
            !passable(std::string_view(bytes, size)))
            __builtin_trap();
    }
    activity++;
    pending--;
}

void call_vmcast(const char *method, GVariant *parameters, GAsyncReadyCallback done) {
    pending++;
    g_dbus_connection_call(bus.qemu, nullptr, kPath, kInterface, method, parameters, nullptr,
                           G_DBUS_CALL_FLAGS_NONE, -1, nullptr, done, nullptr);
}

void answered(GObject *connection, GAsyncResult *result, gpointer) {
    GVariantPtr reply(
        g_dbus_connection_call_finish(G_DBUS_CONNECTION(connection), result, nullptr));
    activity++;
    pending--;
}

// Until both sides are idle: no call of QEMU's open, and two round trips (each behind whatever
// either side sent before) with nothing new.
void settle() {
    for (int quiet = 0; quiet < 2;) {
        const int before = activity;
        bool pinged = false;
        g_dbus_connection_call(
            bus.qemu, nullptr, "/", "org.freedesktop.DBus.Peer", "Ping", nullptr, nullptr,
            G_DBUS_CALL_FLAGS_NONE, -1, nullptr,
            [](GObject *connection, GAsyncResult *result, gpointer done) {
                GVariantPtr reply(
                    g_dbus_connection_call_finish(G_DBUS_CONNECTION(connection), result, nullptr));
                *static_cast<bool *>(done) = true;
            },
            &pinged);
        iterate_until(pinged);
        quiet = pending == 0 && activity == before ? quiet + 1 : 0;
    }
}

// Only errors and criticals count: the clipboard's messages about bad input are its job.
GLogWriterOutput fatal_criticals(GLogLevelFlags level, const GLogField *fields, gsize count,
                                 gpointer) {
    if (level & (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL)) {
        g_log_writer_standard_streams(level, fields, count, nullptr);
        __builtin_trap();
    }
    return G_LOG_WRITER_HANDLED;
}

} // namespace

extern "C" int LLVMFuzzerInitialize(int *, char ***) {
    g_log_set_writer_func(fatal_criticals, nullptr, nullptr);
    // QEMU is the server of a p2p connection (-display dbus,p2p=yes).
    P2pDbus ends = connect_p2p_dbus();
    bus.qemu = ends.qemu.release();
    bus.vmcast = ends.vmcast.release();
    bus.qemu_side = qemu_display_clipboard_skeleton_new();
    g_signal_connect(bus.qemu_side, "handle-register", G_CALLBACK(on_register), nullptr);
    g_signal_connect(bus.qemu_side, "handle-request", G_CALLBACK(on_request), nullptr);
    for (const char *signal : {"handle-unregister", "handle-grab", "handle-release"})
        g_signal_connect(bus.qemu_side, signal, G_CALLBACK(on_other), nullptr);
    if (!g_dbus_interface_skeleton_export(G_DBUS_INTERFACE_SKELETON(bus.qemu_side), bus.qemu, kPath,
                                          nullptr))
        __builtin_trap();
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    FuzzedDataProvider provider(data, size);
    input = &provider;
    {
        const qemu::ClipboardPeer *running = nullptr;
        const auto guest_copied = [&running](const std::string &text) {
            if (!passable(text) || running->guest_text() != text)
                __builtin_trap();
        };
        qemu::ClipboardPeer peer(bus.vmcast, "", {.guest_copied = guest_copied});
        running = &peer;
        peer.start();
        settle();
        for (int step = 0; step < 32 && provider.remaining_bytes() > 0; step++) {
            switch (provider.ConsumeIntegralInRange(0, 3)) {
            case 0: {
                const uint32_t chosen = selection();
                const uint32_t serial = provider.ConsumeIntegral<uint32_t>();
                call_vmcast("Grab", g_variant_new("(uu@as)", chosen, serial, mimes()), answered);
                break;
            }
            case 1:
                call_vmcast("Release", g_variant_new("(u)", selection()), answered);
                break;
            case 2: {
                const uint32_t chosen = selection();
                call_vmcast("Request", g_variant_new("(u@as)", chosen, mimes()),
                            check_request_answer);
                break;
            }
            default: {
                std::string error;
                peer.offer(provider.ConsumeRandomLengthString(256), error);
                break;
            }
            }
            settle();
        }
    }
    settle(); // the Unregister of the peer's end
    input = nullptr;
    return 0;
}
