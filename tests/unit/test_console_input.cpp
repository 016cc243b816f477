// ConsoleInput against an in-process org.qemu.Display1 peer on a p2p connection
// (socketpair): mouse mode learning, clamping, per-client holds, wheel,
// multitouch.
#include <algorithm>
#include <gio/gio.h>
#include <gtest/gtest.h>
#include <sys/socket.h>

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "common/glib_ptr.h"
#include "qemu-display1.h"
#include "qemu/console_input.h"

using namespace vmcast;
using namespace vmcast::qemu;

namespace {

bool run_until(const std::function<bool()> &done, int ms = 3000) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
    GSourcePtr tick(g_timeout_source_new(1));
    g_source_set_callback(
        tick.get(), [](gpointer) -> gboolean { return G_SOURCE_CONTINUE; }, nullptr, nullptr);
    g_source_attach(tick.get(), nullptr);
    while (!done()) {
        if (std::chrono::steady_clock::now() >= deadline)
            return false;
        g_main_context_iteration(nullptr, TRUE);
    }
    return true;
}

// The peer: QEMU's side. really_absolute decides what it accepts; the
// IsAbsolute property may say otherwise (as QEMU 7.2 does at first).
struct Peer {
    bool really_absolute = false;
    std::vector<std::string> calls;
    GDBusConnection *server = nullptr; // owned: released in the destructor
    GDBusConnection *client = nullptr;
    GObjectPtr<QemuDisplayConsole> console{qemu_display_console_skeleton_new()};
    GObjectPtr<QemuDisplayKeyboard> keyboard{qemu_display_keyboard_skeleton_new()};
    GObjectPtr<QemuDisplayMouse> mouse{qemu_display_mouse_skeleton_new()};
    GObjectPtr<QemuDisplayMultiTouch> touch;

    ~Peer() {
        g_dbus_connection_close_sync(client, nullptr, nullptr);
        g_object_unref(client);
        g_object_unref(server);
    }

    Peer(bool property_absolute, bool really, bool with_multitouch) : really_absolute(really) {
        int fds[2];
        socketpair(AF_UNIX, SOCK_STREAM, 0, fds);
        GObjectPtr<GSocket> s0(g_socket_new_from_fd(fds[0], nullptr));
        GObjectPtr<GSocket> s1(g_socket_new_from_fd(fds[1], nullptr));
        GObjectPtr<GSocketConnection> c0(g_socket_connection_factory_create_connection(s0.get()));
        GObjectPtr<GSocketConnection> c1(g_socket_connection_factory_create_connection(s1.get()));
        GCharPtr guid(g_dbus_generate_guid());
        g_dbus_connection_new(
            G_IO_STREAM(c0.get()), guid.get(), G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_SERVER,
            nullptr, nullptr,
            [](GObject *, GAsyncResult *r, gpointer p) {
                static_cast<Peer *>(p)->server = g_dbus_connection_new_finish(r, nullptr);
            },
            this);
        g_dbus_connection_new(
            G_IO_STREAM(c1.get()), nullptr, G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT, nullptr,
            nullptr,
            [](GObject *, GAsyncResult *r, gpointer p) {
                static_cast<Peer *>(p)->client = g_dbus_connection_new_finish(r, nullptr);
            },
            this);
        run_until([this] { return server && client; });
        const char *path = "/org/qemu/Display1/Console_0";
        qemu_display_console_set_width(console.get(), 640);
        qemu_display_console_set_height(console.get(), 480);
        if (with_multitouch) {
            const gchar *ifaces[] = {"org.qemu.Display1.Keyboard", "org.qemu.Display1.Mouse",
                                     "org.qemu.Display1.MultiTouch", nullptr};
            qemu_display_console_set_interfaces(console.get(), ifaces);
        }
        qemu_display_mouse_set_is_absolute(mouse.get(), property_absolute);
        g_signal_connect(keyboard.get(), "handle-press", G_CALLBACK(on_key_press), this);
        g_signal_connect(keyboard.get(), "handle-release", G_CALLBACK(on_key_release), this);
        g_signal_connect(mouse.get(), "handle-press", G_CALLBACK(on_button_press), this);
        g_signal_connect(mouse.get(), "handle-release", G_CALLBACK(on_button_release), this);
        g_signal_connect(mouse.get(), "handle-set-abs-position", G_CALLBACK(on_abs), this);
        g_signal_connect(mouse.get(), "handle-rel-motion", G_CALLBACK(on_rel), this);
        for (GDBusInterfaceSkeleton *skeleton :
             {G_DBUS_INTERFACE_SKELETON(console.get()), G_DBUS_INTERFACE_SKELETON(keyboard.get()),
              G_DBUS_INTERFACE_SKELETON(mouse.get())})
            g_dbus_interface_skeleton_export(skeleton, server, path, nullptr);
        if (with_multitouch) {
            touch.reset(qemu_display_multi_touch_skeleton_new());
            g_signal_connect(touch.get(), "handle-send-event", G_CALLBACK(on_touch), this);
            g_dbus_interface_skeleton_export(G_DBUS_INTERFACE_SKELETON(touch.get()), server, path,
                                             nullptr);
        }
    }

    static gboolean on_key_press(QemuDisplayKeyboard *k, GDBusMethodInvocation *i, guint c,
                                 Peer *p) {
        p->calls.push_back("key+" + std::to_string(c));
        qemu_display_keyboard_complete_press(k, i);
        return TRUE;
    }
    static gboolean on_key_release(QemuDisplayKeyboard *k, GDBusMethodInvocation *i, guint c,
                                   Peer *p) {
        p->calls.push_back("key-" + std::to_string(c));
        qemu_display_keyboard_complete_release(k, i);
        return TRUE;
    }
    static gboolean on_button_press(QemuDisplayMouse *m, GDBusMethodInvocation *i, guint b,
                                    Peer *p) {
        p->calls.push_back("btn+" + std::to_string(b));
        qemu_display_mouse_complete_press(m, i);
        return TRUE;
    }
    static gboolean on_button_release(QemuDisplayMouse *m, GDBusMethodInvocation *i, guint b,
                                      Peer *p) {
        p->calls.push_back("btn-" + std::to_string(b));
        qemu_display_mouse_complete_release(m, i);
        return TRUE;
    }
    static gboolean on_abs(QemuDisplayMouse *m, GDBusMethodInvocation *i, guint x, guint y,
                           Peer *p) {
        p->calls.push_back("abs " + std::to_string(x) + "," + std::to_string(y));
        if (!p->really_absolute)
            g_dbus_method_invocation_return_dbus_error(i, "org.qemu.Display1.Error.Invalid",
                                                       "Mouse is not absolute");
        else if (x >= 640 || y >= 480)
            g_dbus_method_invocation_return_dbus_error(i, "org.qemu.Display1.Error.Invalid",
                                                       "Invalid mouse position");
        else
            qemu_display_mouse_complete_set_abs_position(m, i);
        return TRUE;
    }
    static gboolean on_rel(QemuDisplayMouse *m, GDBusMethodInvocation *i, gint dx, gint dy,
                           Peer *p) {
        p->calls.push_back("rel " + std::to_string(dx) + "," + std::to_string(dy));
        if (p->really_absolute)
            g_dbus_method_invocation_return_dbus_error(i, "org.qemu.Display1.Error.Invalid",
                                                       "Mouse is not relative");
        else
            qemu_display_mouse_complete_rel_motion(m, i);
        return TRUE;
    }
    static gboolean on_touch(QemuDisplayMultiTouch *t, GDBusMethodInvocation *i, guint kind,
                             guint64 slot, gdouble x, gdouble y, Peer *p) {
        p->calls.push_back("touch " + std::to_string(kind) + " " + std::to_string(slot) + " " +
                           std::to_string(int(x)) + "," + std::to_string(int(y)));
        qemu_display_multi_touch_complete_send_event(t, i);
        return TRUE;
    }
};

std::unique_ptr<ConsoleInput> ready_input(Peer &peer) {
    auto input = std::make_unique<ConsoleInput>(peer.client, "", 0);
    std::string error = "unset";
    input->start([&](const std::string &e) { error = e; });
    EXPECT_TRUE(run_until([&] { return error != "unset"; }));
    EXPECT_EQ(error, "");
    return input;
}

void settle(ConsoleInput &input) {
    EXPECT_TRUE(run_until([&] { return input.calls_in_flight() == 0; }));
}

using Calls = std::vector<std::string>;

} // namespace

TEST(ConsoleInput, LearnsAbsoluteFromRefusedRelativeMotion) {
    Peer peer(false, true, false); // property lies: says relative
    auto input = ready_input(peer);
    std::vector<bool> modes;
    auto watch = input->watch_mouse_mode([&](bool absolute) { modes.push_back(absolute); });
    EXPECT_FALSE(input->mouse_is_absolute());
    auto client = input->new_client("c");
    client->move_to(10, 10); // first relative move: reference only
    client->move_to(20, 25);
    settle(*input);
    client->move_to(700, 500);
    settle(*input);
    EXPECT_EQ(peer.calls, (Calls{"rel 10,15", "abs 20,25", "abs 639,479"}));
    EXPECT_TRUE(input->mouse_is_absolute());
    EXPECT_EQ(modes, (std::vector<bool>{true}));
    EXPECT_EQ(input->calls_failed(), 0u);
}

TEST(ConsoleInput, LearnsRelativeFromRefusedAbsolutePosition) {
    Peer peer(true, false, false);
    auto input = ready_input(peer);
    EXPECT_TRUE(input->mouse_is_absolute());
    auto client = input->new_client("c");
    client->move_to(100, 100);
    client->move_to(130, 90);
    settle(*input);
    client->move_to(140, 95);
    settle(*input);
    // Both absolute moves go out before the first refusal comes back; only the
    // newest is retried, relative to the previous target.
    EXPECT_EQ(peer.calls, (Calls{"abs 100,100", "abs 130,90", "rel 30,-10", "rel 10,5"}));
    EXPECT_FALSE(input->mouse_is_absolute());
    EXPECT_EQ(input->calls_failed(), 0u);
}

TEST(ConsoleInput, PropertyChangeSwitchesMode) {
    Peer peer(false, false, false);
    auto input = ready_input(peer);
    peer.really_absolute = true;
    qemu_display_mouse_set_is_absolute(peer.mouse.get(), TRUE);
    EXPECT_TRUE(run_until([&] { return input->mouse_is_absolute(); }));
    auto client = input->new_client("c");
    client->move_to(5, 6);
    settle(*input);
    EXPECT_EQ(peer.calls, (Calls{"abs 5,6"}));
}

TEST(ConsoleInput, KeyboardLedChangesReachWatchers) {
    Peer peer(false, false, false);
    auto input = ready_input(peer);
    std::vector<uint32_t> seen;
    auto watch = input->watch_keyboard_leds([&](uint32_t leds) { seen.push_back(leds); });
    qemu_display_keyboard_set_modifiers(peer.keyboard.get(), 5); // Caps and Scroll Lock
    EXPECT_TRUE(run_until([&] { return !seen.empty(); }));
    qemu_display_keyboard_set_modifiers(peer.keyboard.get(), 2); // Num Lock only
    EXPECT_TRUE(run_until([&] { return seen.size() == 2; }));
    EXPECT_EQ(seen, (std::vector<uint32_t>{5, 2}));
    EXPECT_EQ(input->keyboard_leds(), 2u);
}

TEST(ConsoleInput, KeysAndButtonsAreHeldPerClient) {
    Peer peer(true, true, false);
    auto input = ready_input(peer);
    auto a = input->new_client("a");
    auto b = input->new_client("b");
    a->press_key(0x2a);
    b->press_key(0x2a);
    b->press_key(0x1e);
    b->press_key(0x1e);   // autorepeat
    b->release_key(0x10); // never pressed by b: ignored
    EXPECT_TRUE(a->press_button(0));
    EXPECT_TRUE(b->press_button(0));
    EXPECT_FALSE(b->press_button(9));
    settle(*input);
    b.reset(); // lets go of 0x1e only; 0x2a and the left button are still held by
               // a
    settle(*input);
    EXPECT_EQ(peer.calls, (Calls{"key+42", "key+42", "key+30", "key+30", "btn+0", "key-30"}));
    peer.calls.clear();
    a->release_key(0x2a);
    settle(*input);
    EXPECT_EQ(peer.calls, (Calls{"key-42"}));
    peer.calls.clear();
    input.reset(); // releases a's button; a is detached
    run_until([&] { return peer.calls.size() >= 1; });
    EXPECT_EQ(peer.calls, (Calls{"btn-0"}));
    a->press_key(0x1e); // detached: nothing
    a.reset();
}

// The page's blur releases what its user holds, not a typed text's Shift (the sequencer's).
TEST(ConsoleInput, ReleaseAllKeepsTheKeysAsked) {
    Peer peer(true, true, false);
    auto input = ready_input(peer);
    auto c = input->new_client("c");
    c->press_key(0x2a);
    c->press_key(0x1e);
    settle(*input);
    peer.calls.clear();
    c->release_all({0x2a});
    settle(*input);
    EXPECT_EQ(peer.calls, (Calls{"key-30"}));
    c->release_key(0x2a); // still held by c, so released now
    settle(*input);
    EXPECT_EQ(peer.calls, (Calls{"key-30", "key-42"}));
}

TEST(ConsoleInput, WheelClicks) {
    Peer peer(true, true, false);
    auto input = ready_input(peer);
    auto c = input->new_client("c");
    c->scroll(2, -1);
    settle(*input);
    EXPECT_EQ(peer.calls, (Calls{"btn+4", "btn-4", "btn+4", "btn-4", "btn+7", "btn-7"}));
}

TEST(ConsoleInput, MultiTouchWhenListed) {
    Peer peer(true, true, true);
    auto input = ready_input(peer);
    EXPECT_TRUE(input->has_multitouch());
    auto c = input->new_client("c");
    std::string error;
    EXPECT_TRUE(c->touch(TouchKind::Begin, 1, 10, 20, error));
    EXPECT_TRUE(c->touch(TouchKind::Update, 1, 11, 21, error));
    settle(*input);
    c.reset();
    settle(*input);
    EXPECT_EQ(peer.calls, (Calls{"touch 0 1 10,20", "touch 1 1 11,21", "touch 3 1 11,21"}));
}

TEST(ConsoleInput, TouchEndsWhereItWasAfterTheConsoleShrank) {
    Peer peer(true, true, true);
    auto input = ready_input(peer);
    auto c = input->new_client("c");
    std::string error;
    EXPECT_TRUE(c->touch(TouchKind::Begin, 1, 600, 400, error));
    qemu_display_console_set_width(peer.console.get(), 320);
    qemu_display_console_set_height(peer.console.get(), 200);
    // Once the proxy has the new size, a move there is refused and the finger stays at 600,400.
    EXPECT_TRUE(run_until([&] { return !c->touch(TouchKind::Update, 1, 600, 400, error); }));
    EXPECT_TRUE(c->touch(TouchKind::End, 1, 601, 401, error)) << error;
    settle(*input);
    c.reset();
    settle(*input);
    ASSERT_FALSE(peer.calls.empty());
    EXPECT_EQ(peer.calls.back(), "touch 2 1 600,400");
    EXPECT_EQ(std::count(peer.calls.begin(), peer.calls.end(), "touch 3 1 600,400"), 0);
}

TEST(ConsoleInput, NoMultiTouchWithoutInterfaces) {
    Peer peer(true, true, false);
    auto input = ready_input(peer);
    EXPECT_FALSE(input->has_multitouch());
    auto c = input->new_client("c");
    std::string error;
    EXPECT_FALSE(c->touch(TouchKind::Begin, 0, 1, 1, error));
    EXPECT_NE(error.find("QEMU 8.1"), std::string::npos) << error;
    settle(*input);
    EXPECT_TRUE(peer.calls.empty());
}

TEST(ConsoleInput, RefusalsAreCounted) {
    Peer peer(true, true, false);
    // Console_7 does not exist: the proxies are made, every call is refused.
    ConsoleInput other(peer.client, "", 7);
    std::string error = "unset";
    other.start([&](const std::string &e) { error = e; });
    run_until([&] { return error != "unset"; });
    auto oc = other.new_client("o");
    oc->press_key(0x1e);
    settle(other);
    EXPECT_EQ(other.calls_failed(), 1u);
}
