#include "qemu/console_input.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>

#include "qemu-display1.h"
#include "qemu/call_timeout.h"

namespace vmcast::qemu {
namespace {

constexpr const char *kMultiTouchInterface = "org.qemu.Display1.MultiTouch";
// A wheel delta can come from anywhere; more clicks than this in one event is not scrolling.
constexpr uint32_t kMaxWheelClicks = 20;

bool is_cancelled(const GError *error) {
    return error && g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
}

uint32_t magnitude(int32_t value) {
    return uint32_t(std::abs(int64_t(value)));
}

int32_t saturating_add(int32_t a, int32_t b) {
    return int32_t(std::clamp<int64_t>(int64_t(a) + b, INT32_MIN, INT32_MAX));
}

// e.g. "Keyboard.Press 0x1e": qnums read best in hex, as scan codes are written.
std::string key_call(const char *method, uint32_t qnum) {
    char text[48];
    snprintf(text, sizeof text, "%s 0x%02x", method, qnum);
    return text;
}

bool lists_interface(const gchar *const *interfaces, const char *wanted) {
    for (; interfaces && *interfaces; interfaces++) {
        if (g_str_equal(*interfaces, wanted))
            return true;
    }
    return false;
}

} // namespace

// A pointer move as sent, kept until QEMU answers so a refused one can be sent the other way.
struct ConsoleInput::PointerMove {
    uint64_t serial;
    bool absolute;
    Point target;
    Point delta; // for relative motion
    bool retry;  // already the second attempt: never switch mode again for it
};

struct ConsoleInput::PendingCall {
    ConsoleInput *input;
    std::string what;
    std::optional<PointerMove> move;
};

ConsoleInput::ConsoleInput(GDBusConnection *connection, const std::string &bus_name,
                           uint32_t console_index, std::string log_name)
    : connection_(connection), bus_name_(bus_name),
      object_path_("/org/qemu/Display1/Console_" + std::to_string(console_index)),
      log_name_(log_name.empty() ? "Console_" + std::to_string(console_index)
                                 : std::move(log_name)) {}

ConsoleInput::~ConsoleInput() {
    // Copied: release_all() of a client does not change the set, detach() does.
    for (InputClient *client : std::set<InputClient *>(clients_)) {
        client->release_all();
        client->input_ = nullptr;
    }
    // The releases are already queued on the connection; only their answers are dropped.
    g_cancellable_cancel(cancellable_.get());
}

void ConsoleInput::start(ReadyCallback on_ready) {
    on_ready_ = std::move(on_ready);
    make_proxy<QemuDisplayConsole, qemu_display_console_proxy_new_finish, &ConsoleInput::console_>(
        qemu_display_console_proxy_new);
    make_proxy<QemuDisplayKeyboard, qemu_display_keyboard_proxy_new_finish,
               &ConsoleInput::keyboard_>(qemu_display_keyboard_proxy_new);
    make_proxy<QemuDisplayMouse, qemu_display_mouse_proxy_new_finish, &ConsoleInput::mouse_>(
        qemu_display_mouse_proxy_new);
}

template <typename Proxy, Proxy *(*finish)(GAsyncResult *, GError **),
          GObjectPtr<Proxy> ConsoleInput::*slot>
void ConsoleInput::make_proxy(ProxyNew proxy_new) {
    proxies_pending_++;
    // A peer-to-peer connection to QEMU (p2p mode) has no bus names.
    proxy_new(connection_, G_DBUS_PROXY_FLAGS_DO_NOT_AUTO_START,
              bus_name_.empty() ? nullptr : bus_name_.c_str(), object_path_.c_str(),
              cancellable_.get(), on_proxy_ready<Proxy, finish, slot>, this);
}

template <typename Proxy, Proxy *(*finish)(GAsyncResult *, GError **),
          GObjectPtr<Proxy> ConsoleInput::*slot>
void ConsoleInput::on_proxy_ready(GObject *, GAsyncResult *result, gpointer self) {
    GError *raw_error = nullptr;
    Proxy *proxy = finish(result, &raw_error);
    GErrorPtr error(raw_error);
    if (is_cancelled(error.get()))
        return;
    auto *input = static_cast<ConsoleInput *>(self);
    (input->*slot).reset(proxy);
    input->proxy_done(error.get());
}

void ConsoleInput::proxy_done(const GError *error) {
    if (error && proxy_error_.empty())
        proxy_error_ =
            "cannot reach the input interfaces of " + object_path_ + ": " + error->message;
    if (--proxies_pending_ > 0)
        return;
    // QEMU before 8.1 has neither MultiTouch nor the Interfaces property that lists it.
    if (proxy_error_.empty() && !multitouch_ &&
        lists_interface(qemu_display_console_get_interfaces(console_.get()),
                        kMultiTouchInterface)) {
        make_proxy<QemuDisplayMultiTouch, qemu_display_multi_touch_proxy_new_finish,
                   &ConsoleInput::multitouch_>(qemu_display_multi_touch_proxy_new);
        return;
    }
    ready_ = proxy_error_.empty();
    if (ready_) {
        for (GDBusProxy *proxy : {G_DBUS_PROXY(console_.get()), G_DBUS_PROXY(keyboard_.get()),
                                  G_DBUS_PROXY(mouse_.get()), G_DBUS_PROXY(multitouch_.get())}) {
            if (proxy)
                g_dbus_proxy_set_default_timeout(proxy, kQemuCallTimeoutMs);
        }
        mouse_absolute_ = qemu_display_mouse_get_is_absolute(mouse_.get());
        is_absolute_notify_ = SignalConnection(mouse_.get(), "notify::is-absolute",
                                               G_CALLBACK(on_is_absolute_changed), this);
        modifiers_notify_ = SignalConnection(keyboard_.get(), "notify::modifiers",
                                             G_CALLBACK(on_modifiers_changed), this);
        g_debug("%s: input ready, mouse %s, %s", log_name_.c_str(),
                mouse_absolute_ ? "absolute" : "relative",
                multitouch_ ? "multitouch" : "no multitouch");
    }
    if (on_ready_)
        on_ready_(proxy_error_);
    // Users that came before readiness were told what was known then.
    if (proxy_error_.empty()) {
        mouse_mode_watchers_.notify(mouse_absolute_);
        led_watchers_.notify(keyboard_leds());
    }
}

std::unique_ptr<InputClient> ConsoleInput::new_client(std::string client_name) {
    std::unique_ptr<InputClient> client(new InputClient(*this, std::move(client_name)));
    clients_.insert(client.get());
    return client;
}

void ConsoleInput::detach(InputClient *client) {
    clients_.erase(client);
}

uint32_t ConsoleInput::keyboard_leds() const {
    return keyboard_ ? qemu_display_keyboard_get_modifiers(keyboard_.get()) : 0;
}

void ConsoleInput::on_modifiers_changed(GObject *, GParamSpec *, gpointer self) {
    auto *input = static_cast<ConsoleInput *>(self);
    input->led_watchers_.notify(input->keyboard_leds());
}

void ConsoleInput::on_is_absolute_changed(GObject *, GParamSpec *, gpointer self) {
    auto *input = static_cast<ConsoleInput *>(self);
    input->set_mouse_absolute(qemu_display_mouse_get_is_absolute(input->mouse_.get()),
                              "Mouse.IsAbsolute");
}

void ConsoleInput::set_mouse_absolute(bool absolute, const char *source) {
    if (absolute == mouse_absolute_)
        return;
    mouse_absolute_ = absolute;
    g_debug("%s: mouse is %s now (from %s)", log_name_.c_str(), absolute ? "absolute" : "relative",
            source);
    mouse_mode_watchers_.notify(absolute);
}

bool ConsoleInput::check_ready(const char *what) const {
    if (!ready_)
        g_debug("%s: %s dropped: input is not ready", log_name_.c_str(), what);
    return ready_;
}

ConsoleInput::PendingCall *ConsoleInput::track_call(std::string what, const PointerMove *move) {
    calls_in_flight_++;
    auto *call = new PendingCall{this, std::move(what), std::nullopt};
    if (move)
        call->move = *move;
    return call;
}

void ConsoleInput::on_call_done(GObject *source, GAsyncResult *result, gpointer data) {
    std::unique_ptr<PendingCall> call(static_cast<PendingCall *>(data));
    GError *raw_error = nullptr;
    GVariantPtr reply(g_dbus_proxy_call_finish(G_DBUS_PROXY(source), result, &raw_error));
    GErrorPtr error(raw_error);
    if (is_cancelled(error.get()))
        return; // the ConsoleInput is gone
    ConsoleInput &input = *call->input;
    input.calls_in_flight_--;
    if (!error)
        return;
    if (call->move && input.learn_mouse_mode(*call->move, error.get()))
        return;
    input.calls_failed_++;
    g_debug("%s: QEMU refused %s: %s", input.log_name_.c_str(), call->what.c_str(), error->message);
}

void ConsoleInput::hold_key(uint32_t qnum) {
    key_holders_[qnum]++;
    send_key_press(qnum);
}

void ConsoleInput::send_key_press(uint32_t qnum) {
    if (!check_ready("key press"))
        return;
    qemu_display_keyboard_call_press(keyboard_.get(), qnum, cancellable_.get(), on_call_done,
                                     track_call(key_call("Keyboard.Press", qnum)));
}

void ConsoleInput::let_go_of_key(uint32_t qnum) {
    auto holders = key_holders_.find(qnum);
    if (holders == key_holders_.end() || --holders->second > 0)
        return; // another client still holds it
    key_holders_.erase(holders);
    if (!check_ready("key release"))
        return;
    qemu_display_keyboard_call_release(keyboard_.get(), qnum, cancellable_.get(), on_call_done,
                                       track_call(key_call("Keyboard.Release", qnum)));
}

void ConsoleInput::hold_button(uint32_t button) {
    if (button_holders_[button]++ > 0 || !check_ready("button press"))
        return; // already down for the guest
    qemu_display_mouse_call_press(mouse_.get(), button, cancellable_.get(), on_call_done,
                                  track_call("Mouse.Press " + std::to_string(button)));
}

void ConsoleInput::let_go_of_button(uint32_t button) {
    auto holders = button_holders_.find(button);
    if (holders == button_holders_.end() || --holders->second > 0)
        return;
    button_holders_.erase(holders);
    if (!check_ready("button release"))
        return;
    qemu_display_mouse_call_release(mouse_.get(), button, cancellable_.get(), on_call_done,
                                    track_call("Mouse.Release " + std::to_string(button)));
}

void ConsoleInput::click_button(uint32_t button, uint32_t times) {
    if (!check_ready("wheel"))
        return;
    for (uint32_t i = 0; i < std::min(times, kMaxWheelClicks); i++) {
        qemu_display_mouse_call_press(mouse_.get(), button, cancellable_.get(), on_call_done,
                                      track_call("Mouse.Press " + std::to_string(button)));
        qemu_display_mouse_call_release(mouse_.get(), button, cancellable_.get(), on_call_done,
                                        track_call("Mouse.Release " + std::to_string(button)));
    }
}

ConsoleInput::Point ConsoleInput::clamped_to_console(int32_t x, int32_t y) const {
    // QEMU refuses positions outside the console ("Invalid mouse position").
    const int64_t width = console_ ? qemu_display_console_get_width(console_.get()) : 0;
    const int64_t height = console_ ? qemu_display_console_get_height(console_.get()) : 0;
    const int64_t max_x = width > 0 ? width - 1 : INT32_MAX;
    const int64_t max_y = height > 0 ? height - 1 : INT32_MAX;
    return {int32_t(std::clamp<int64_t>(x, 0, max_x)), int32_t(std::clamp<int64_t>(y, 0, max_y))};
}

void ConsoleInput::move_to(int32_t x, int32_t y) {
    if (!check_ready("pointer move"))
        return;
    const Point target = clamped_to_console(x, y);
    const Point from = pointer_known_ ? pointer_ : target;
    pointer_ = target;
    pointer_known_ = true;
    send_move(
        {++move_serial_, mouse_absolute_, target, {target.x - from.x, target.y - from.y}, false});
}

void ConsoleInput::move_by(int32_t dx, int32_t dy) {
    if (!check_ready("pointer motion"))
        return;
    const Point target =
        clamped_to_console(saturating_add(pointer_.x, dx), saturating_add(pointer_.y, dy));
    pointer_ = target;
    pointer_known_ = true;
    // Relative motion is sent as given: the guest may move further than the clamped position.
    send_move({++move_serial_, mouse_absolute_, target, {dx, dy}, false});
}

void ConsoleInput::send_move(const PointerMove &move) {
    if (move.absolute) {
        qemu_display_mouse_call_set_abs_position(
            mouse_.get(), uint32_t(move.target.x), uint32_t(move.target.y), cancellable_.get(),
            on_call_done, track_call("Mouse.SetAbsPosition", &move));
    } else if (move.delta.x != 0 || move.delta.y != 0) {
        qemu_display_mouse_call_rel_motion(mouse_.get(), move.delta.x, move.delta.y,
                                           cancellable_.get(), on_call_done,
                                           track_call("Mouse.RelMotion", &move));
    }
}

bool ConsoleInput::learn_mouse_mode(const PointerMove &move, const GError *error) {
    const char *refusal = move.absolute ? "Mouse is not absolute" : "Mouse is not relative";
    if (!strstr(error->message, refusal))
        return false;
    set_mouse_absolute(!move.absolute, "QEMU's answer");
    // Older moves are superseded by the newest one, and one retry is enough: if QEMU refuses
    // that too, the mode changed again meanwhile and Mouse.IsAbsolute will say so.
    if (move.serial == move_serial_ && !move.retry)
        send_move({move.serial, !move.absolute, move.target, move.delta, true});
    return true;
}

void ConsoleInput::send_touch(TouchKind kind, uint64_t slot, double x, double y) {
    if (!check_ready("touch") || !multitouch_)
        return;
    qemu_display_multi_touch_call_send_event(
        multitouch_.get(), uint32_t(kind), slot, x, y, cancellable_.get(), on_call_done,
        track_call("MultiTouch.SendEvent slot " + std::to_string(slot)));
}

std::string ConsoleInput::touch_refusal(double x, double y) const {
    if (ready_ && !multitouch_)
        return "touch input needs QEMU 8.1 or later with a multitouch device on this console";
    const uint32_t width = console_ ? qemu_display_console_get_width(console_.get()) : 0;
    const uint32_t height = console_ ? qemu_display_console_get_height(console_.get()) : 0;
    if (!std::isfinite(x) || !std::isfinite(y) || x < 0 || y < 0 || (width > 0 && x >= width) ||
        (height > 0 && y >= height))
        return "touch point (" + std::to_string(int64_t(x)) + ", " + std::to_string(int64_t(y)) +
               ") is outside the " + std::to_string(width) + "x" + std::to_string(height) +
               " console";
    return {};
}

InputClient::InputClient(ConsoleInput &input, std::string name)
    : input_(&input), name_(std::move(name)) {}

InputClient::~InputClient() {
    release_all();
    if (input_)
        input_->detach(this);
}

void InputClient::press_key(uint32_t qnum) {
    if (!input_)
        return;
    if (held_keys_.insert(qnum).second)
        input_->hold_key(qnum);
    else
        input_->send_key_press(qnum);
}

void InputClient::release_key(uint32_t qnum) {
    // A release of a key this client never pressed must not lift another client's key.
    if (input_ && held_keys_.erase(qnum) > 0)
        input_->let_go_of_key(qnum);
}

bool InputClient::press_button(uint32_t button) {
    if (button > mouse_button::kLast)
        return false;
    if (input_ && held_buttons_.insert(button).second)
        input_->hold_button(button);
    return true;
}

bool InputClient::release_button(uint32_t button) {
    if (button > mouse_button::kLast)
        return false;
    if (input_ && held_buttons_.erase(button) > 0)
        input_->let_go_of_button(button);
    return true;
}

void InputClient::scroll(int32_t vertical_steps, int32_t horizontal_steps) {
    if (!input_)
        return;
    if (vertical_steps != 0)
        input_->click_button(vertical_steps > 0 ? mouse_button::kWheelDown : mouse_button::kWheelUp,
                             magnitude(vertical_steps));
    if (horizontal_steps != 0)
        input_->click_button(horizontal_steps > 0 ? mouse_button::kWheelRight
                                                  : mouse_button::kWheelLeft,
                             magnitude(horizontal_steps));
}

void InputClient::move_to(int32_t x, int32_t y) {
    if (input_)
        input_->move_to(x, y);
}

void InputClient::move_by(int32_t dx, int32_t dy) {
    if (input_)
        input_->move_by(dx, dy);
}

bool InputClient::touch(TouchKind kind, uint64_t slot, double x, double y, std::string &error) {
    if (!input_)
        return true;
    if (kind == TouchKind::End || kind == TouchKind::Cancel) {
        // Lifted where it was last: the console may have shrunk under the finger since, and
        // refusing the end would leave the slot pressed in the guest. A slot not down (refused,
        // or released on blur) has nothing to end.
        const auto active = active_touches_.find(slot);
        if (active == active_touches_.end())
            return true;
        input_->send_touch(kind, slot, active->second.x, active->second.y);
        active_touches_.erase(active);
        return true;
    }
    error = input_->touch_refusal(x, y);
    if (!error.empty()) {
        g_debug("%s: touch refused: %s", name_.c_str(), error.c_str());
        return false;
    }
    active_touches_[slot] = {x, y};
    input_->send_touch(kind, slot, x, y);
    return true;
}

void InputClient::request_display_size(uint32_t width, uint32_t height, uint16_t width_mm,
                                       uint16_t height_mm, ConsoleInput::SizeCallback done) {
    if (input_)
        input_->send_display_size(width, height, width_mm, height_mm, std::move(done));
}

void InputClient::release_all(const std::vector<uint32_t> &keep) {
    if (!input_)
        return;
    if (!held_keys_.empty() || !held_buttons_.empty() || !active_touches_.empty())
        g_debug("%s: releasing %zu keys, %zu buttons, %zu touches", name_.c_str(),
                held_keys_.size(), held_buttons_.size(), active_touches_.size());
    std::set<uint32_t> kept;
    for (uint32_t qnum : held_keys_) {
        if (std::find(keep.begin(), keep.end(), qnum) != keep.end())
            kept.insert(qnum);
        else
            input_->let_go_of_key(qnum);
    }
    for (uint32_t button : held_buttons_)
        input_->let_go_of_button(button);
    for (const auto &[slot, point] : active_touches_)
        input_->send_touch(TouchKind::Cancel, slot, point.x, point.y);
    held_keys_ = std::move(kept);
    held_buttons_.clear();
    active_touches_.clear();
}

} // namespace vmcast::qemu
