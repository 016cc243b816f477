// Users' keyboard, mouse and touch input for one QEMU console, sent over
// org.qemu.Display1.Keyboard, .Mouse and .MultiTouch on /org/qemu/Display1/Console_N.
//
// Every call is asynchronous, so a slow or stuck QEMU never blocks the caller's main loop, and
// QEMU's refusals are logged at debug level. Input goes through InputClient handles, one per user
// (a browser, a Wayland seat): each remembers what its user holds, and lets go of exactly that
// when the user leaves, so a departing user never leaves a key or button stuck in the guest.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <vector>
#include <string>

#include <gio/gio.h>

#include "common/callback_list.h"
#include "common/glib_ptr.h"

typedef struct _QemuDisplayConsole QemuDisplayConsole;
typedef struct _QemuDisplayKeyboard QemuDisplayKeyboard;
typedef struct _QemuDisplayMouse QemuDisplayMouse;
typedef struct _QemuDisplayMultiTouch QemuDisplayMultiTouch;

namespace vmcast::qemu {

// org.qemu.Display1.Mouse button numbers (QEMU's InputButton).
namespace mouse_button {
constexpr uint32_t kLeft = 0;
constexpr uint32_t kMiddle = 1;
constexpr uint32_t kRight = 2;
constexpr uint32_t kWheelUp = 3;
constexpr uint32_t kWheelDown = 4;
constexpr uint32_t kSide = 5;
constexpr uint32_t kExtra = 6;
constexpr uint32_t kWheelLeft = 7;
constexpr uint32_t kWheelRight = 8;
constexpr uint32_t kLast = kWheelRight; // QEMU does not check; higher numbers are refused here
} // namespace mouse_button

// org.qemu.Display1.MultiTouch.SendEvent kinds.
enum class TouchKind : uint32_t { Begin = 0, Update = 1, End = 2, Cancel = 3 };

// Keyboard LED bits of org.qemu.Display1.Keyboard.Modifiers.
namespace keyboard_led {
constexpr uint32_t kScrollLock = 1 << 0;
constexpr uint32_t kNumLock = 1 << 1;
constexpr uint32_t kCapsLock = 1 << 2;
} // namespace keyboard_led

class InputClient;

class ConsoleInput {
  public:
    // error is empty when the console's input interfaces are ready.
    using ReadyCallback = std::function<void(const std::string &error)>;
    using MouseModeCallback = std::function<void(bool absolute)>;

    // bus_name is QEMU's name on the bus, or empty on a peer-to-peer connection to QEMU.
    // log_name names this console in log lines (default "Console_N").
    ConsoleInput(GDBusConnection *connection, const std::string &bus_name, uint32_t console_index,
                 std::string log_name = {});
    ConsoleInput(const ConsoleInput &) = delete;
    ConsoleInput &operator=(const ConsoleInput &) = delete;
    // Lets go of everything every client still holds, and detaches the clients.
    ~ConsoleInput();

    // Makes the proxies without blocking; on_ready runs once when they are there (or are not).
    // Input given before that is dropped with a debug line.
    void start(ReadyCallback on_ready);
    bool ready() const { return ready_; }

    // A handle for one user's input; see InputClient. client_name is for log lines.
    std::unique_ptr<InputClient> new_client(std::string client_name);

    // Whether QEMU takes absolute positions (a tablet is active in the guest) or relative
    // motion. Learnt from Mouse.IsAbsolute and from QEMU's answers, because QEMU 7.2 reports
    // IsAbsolute wrongly until the guest's first mouse mode change.
    bool mouse_is_absolute() const { return mouse_absolute_; }
    // callback(absolute) whenever the mode changes and once the input is ready, for as long as
    // the returned subscription lives. Each user of the console (a page's viewers, a Wayland
    // seat) keeps its own.
    CallbackList<bool>::Subscription watch_mouse_mode(MouseModeCallback callback) {
        return mouse_mode_watchers_.add(std::move(callback));
    }

    // QEMU's answer to a display size request: empty when it took it, else why not.
    using SizeCallback = std::function<void(const std::string &error)>;

    // Whether touch input reaches QEMU (org.qemu.Display1.MultiTouch, QEMU 8.1 and later).
    bool has_multitouch() const { return bool(multitouch_); }
    // The guest's keyboard LEDs, keyboard_led bits.
    uint32_t keyboard_leds() const;
    // callback(leds) whenever Keyboard.Modifiers changes and once the input is ready, for as
    // long as the returned subscription lives.
    CallbackList<uint32_t>::Subscription
    watch_keyboard_leds(std::function<void(uint32_t)> callback) {
        return led_watchers_.add(std::move(callback));
    }

    // Calls sent and not yet answered, and calls QEMU refused (not counting the mouse mode
    // refusals that were learnt from and retried).
    size_t calls_in_flight() const { return calls_in_flight_; }
    size_t calls_failed() const { return calls_failed_; }

  private:
    friend class InputClient;
    struct PointerMove;
    struct PendingCall;
    struct Point {
        int32_t x = 0;
        int32_t y = 0;
    };

    using ProxyNew = void (*)(GDBusConnection *, GDBusProxyFlags, const gchar *, const gchar *,
                              GCancellable *, GAsyncReadyCallback, gpointer);
    // Starts making a generated proxy for our console object, stored in slot when made.
    template <typename Proxy, Proxy *(*finish)(GAsyncResult *, GError **),
              GObjectPtr<Proxy> ConsoleInput::*slot>
    void make_proxy(ProxyNew proxy_new);
    template <typename Proxy, Proxy *(*finish)(GAsyncResult *, GError **),
              GObjectPtr<Proxy> ConsoleInput::*slot>
    static void on_proxy_ready(GObject *, GAsyncResult *result, gpointer self);
    static void on_is_absolute_changed(GObject *, GParamSpec *, gpointer self);
    static void on_modifiers_changed(GObject *, GParamSpec *, gpointer self);
    static void on_call_done(GObject *source, GAsyncResult *result, gpointer call);
    // Counts a proxy that is made (or failed, with error set). After the last one, asks for
    // MultiTouch if the console has it, or else reports readiness.
    void proxy_done(const GError *error);

    // Sending, for InputClient. Keys and buttons are counted per holder so that one client
    // letting go does not release what another client still holds.
    void hold_key(uint32_t qnum);
    // A press that adds no holder: the first press of hold_key, or an autorepeat.
    void send_key_press(uint32_t qnum);
    void let_go_of_key(uint32_t qnum);
    void hold_button(uint32_t button);
    void let_go_of_button(uint32_t button);
    void click_button(uint32_t button, uint32_t times);
    void move_to(int32_t x, int32_t y);
    void move_by(int32_t dx, int32_t dy);
    void send_touch(TouchKind kind, uint64_t slot, double x, double y);
    // console_display_size.cpp: Console.SetUIInfo, answered through done unless the
    // ConsoleInput goes first.
    void send_display_size(uint32_t width, uint32_t height, uint16_t width_mm, uint16_t height_mm,
                           SizeCallback done);
    // Why a touch at (x, y) cannot be sent, or empty.
    std::string touch_refusal(double x, double y) const;
    void detach(InputClient *client);

    void send_move(const PointerMove &move);
    // Switches mode and retries the newest move if QEMU refused a move for being in the other
    // mode; false for any other error.
    bool learn_mouse_mode(const PointerMove &move, const GError *error);
    void set_mouse_absolute(bool absolute, const char *source);
    Point clamped_to_console(int32_t x, int32_t y) const;
    bool check_ready(const char *what) const;
    // Hands QEMU's answer to on_call_done; move is set for pointer moves.
    PendingCall *track_call(std::string what, const PointerMove *move = nullptr);

    GDBusConnection *connection_;
    std::string bus_name_;
    std::string object_path_;
    std::string log_name_;
    ReadyCallback on_ready_;
    CallbackList<bool> mouse_mode_watchers_;
    CallbackList<uint32_t> led_watchers_;
    int proxies_pending_ = 0;
    std::string proxy_error_;
    bool ready_ = false;

    bool mouse_absolute_ = false;
    // Where the pointer was last sent, and whether that is known yet; relative moves are the
    // difference from it. Each move gets a serial so that only the newest one is retried.
    Point pointer_;
    bool pointer_known_ = false;
    uint64_t move_serial_ = 0;

    std::map<uint32_t, unsigned> key_holders_;
    std::map<uint32_t, unsigned> button_holders_;
    std::set<InputClient *> clients_;
    size_t calls_in_flight_ = 0;
    size_t calls_failed_ = 0;

    GObjectPtr<GCancellable> cancellable_{g_cancellable_new()};
    GObjectPtr<QemuDisplayConsole> console_;
    GObjectPtr<QemuDisplayKeyboard> keyboard_;
    GObjectPtr<QemuDisplayMouse> mouse_;
    GObjectPtr<QemuDisplayMultiTouch> multitouch_;
    SignalConnection is_absolute_notify_;
    SignalConnection modifiers_notify_;
};

// One user's input to a console. It remembers the keys, buttons and touches its user holds;
// release_all(), also run by the destructor, lets go of exactly those.
class InputClient {
  public:
    InputClient(const InputClient &) = delete;
    InputClient &operator=(const InputClient &) = delete;
    ~InputClient();

    // qnum: see keymap.h. Pressing a key already held is an autorepeat.
    void press_key(uint32_t qnum);
    void release_key(uint32_t qnum);
    // Buttons 0 to mouse_button::kLast; false (and nothing sent) for others.
    bool press_button(uint32_t button);
    bool release_button(uint32_t button);
    // Wheel clicks: positive steps scroll down or right, negative up or left.
    void scroll(int32_t vertical_steps, int32_t horizontal_steps);
    // The pointer to console pixel (x, y), clamped to the console: an absolute position, or
    // the relative motion from the previous position when QEMU's mouse is relative (the first
    // move then only sets where the pointer is assumed to be).
    void move_to(int32_t x, int32_t y);
    // The pointer moved by (dx, dy) pixels (e.g. from a locked browser pointer).
    void move_by(int32_t dx, int32_t dy);
    // A touch point in console pixels. false, with why in error, when the console has no
    // MultiTouch or a Begin or Update point lies outside it; nothing is sent then. End and
    // Cancel lift the slot where it last was, whatever point they carry.
    bool touch(TouchKind kind, uint64_t slot, double x, double y, std::string &error);
    // Asks QEMU to give the guest's display this size (org.qemu.Display1.Console.SetUIInfo): a
    // guest whose driver follows it (virtio-gpu) changes its resolution. done gets QEMU's answer,
    // e.g. that the display device cannot follow; it does not run when the console input is
    // gone first.
    void request_display_size(uint32_t width, uint32_t height, uint16_t width_mm,
                              uint16_t height_mm, ConsoleInput::SizeCallback done);
    // Lets go of everything held but the keys in keep, which stay held (a key sequence's, which
    // releases them itself).
    void release_all(const std::vector<uint32_t> &keep = {});

  private:
    friend class ConsoleInput;
    InputClient(ConsoleInput &input, std::string name);

    ConsoleInput *input_; // nullptr once the console input is gone
    std::string name_;
    std::set<uint32_t> held_keys_;
    std::set<uint32_t> held_buttons_;
    struct TouchPoint {
        double x;
        double y;
    };
    std::map<uint64_t, TouchPoint> active_touches_;
};

} // namespace vmcast::qemu
