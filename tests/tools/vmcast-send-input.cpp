// vmcast-send-input: moves and clicks the mouse, types text and presses keys in a QEMU VM
// (-display dbus) through vmcast's ConsoleInput, for the integration tests and for trying input
// by hand. Exits 0 once every call was sent and QEMU accepted it.
#include <glib.h>

#include <chrono>
#include <clocale>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/glib_ptr.h"
#include "qemu/console_input.h"
#include "qemu/display_bus.h"
#include "qemu/keymap.h"

namespace {

using namespace std::chrono_literals;
using vmcast::qemu::InputClient;

// Long enough for the guest to take each key event on its own, short enough to type quickly.
constexpr auto kEventGap = 10ms;
constexpr auto kReadyTimeout = 10s;
constexpr auto kAnswerTimeout = 10s;

constexpr const char *kDescription =
    "Steps run in this order: --move, --click, --type, --keys.\n"
    "  --type TEXT     types ASCII TEXT as on a US keyboard (a newline is Enter)\n"
    "  --keys LIST     comma-separated keys, each a W3C KeyboardEvent.code (KeyA, Enter,\n"
    "                  ArrowUp...) or a qnum (0x1c); A+B+C holds A and B while tapping C\n"
    "  --click X,Y     moves to console pixel X,Y and clicks the left button\n"
    "  --move X,Y      moves the pointer to console pixel X,Y";

int fail(const std::string &message) {
    fprintf(stderr, "vmcast-send-input: %s\n", message.c_str());
    return 1;
}

// Runs the main context until done() holds or the time limit passes; done() is checked first.
bool run_until(const std::function<bool()> &done, std::chrono::milliseconds limit) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    // Wakes each iteration up in time even when no D-Bus message arrives.
    vmcast::GSourcePtr tick(g_timeout_source_new(1));
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

// Lets answers arrive while the guest takes the previous event.
void pause_between_events() {
    const auto until = std::chrono::steady_clock::now() + kEventGap;
    run_until([until] { return std::chrono::steady_clock::now() >= until; }, kEventGap * 2);
}

bool parse_point(const char *text, int32_t &x, int32_t &y) {
    char *end = nullptr;
    const long parsed_x = strtol(text, &end, 10);
    if (end == text || *end != ',')
        return false;
    const char *y_text = end + 1;
    const long parsed_y = strtol(y_text, &end, 10);
    if (end == y_text || *end != '\0' || parsed_x < 0 || parsed_y < 0 || parsed_x > INT32_MAX ||
        parsed_y > INT32_MAX)
        return false;
    x = int32_t(parsed_x);
    y = int32_t(parsed_y);
    return true;
}

std::optional<uint32_t> parse_key(const std::string &name) {
    if (name.starts_with("0x")) {
        char *end = nullptr;
        const unsigned long qnum = strtoul(name.c_str() + 2, &end, 16);
        if (*end == '\0' && end != name.c_str() + 2 && qnum > 0 && qnum <= 0xff)
            return uint32_t(qnum);
        return std::nullopt;
    }
    return vmcast::qemu::qnum_from_browser_code(name);
}

// "ControlLeft+KeyC,Enter" as chords of qnums: {{0x1d, 0x2e}, {0x1c}}.
bool parse_keys(const std::string &list, std::vector<std::vector<uint32_t>> &chords,
                std::string &error) {
    vmcast::GStrvPtr chord_texts(g_strsplit(list.c_str(), ",", -1));
    for (gchar **chord_text = chord_texts.get(); *chord_text; chord_text++) {
        std::vector<uint32_t> chord;
        vmcast::GStrvPtr key_names(g_strsplit(*chord_text, "+", -1));
        for (gchar **key_name = key_names.get(); *key_name; key_name++) {
            const std::optional<uint32_t> qnum = parse_key(*key_name);
            if (!qnum) {
                error = std::string("unknown key '") + *key_name + "' in --keys";
                return false;
            }
            chord.push_back(*qnum);
        }
        chords.push_back(std::move(chord));
    }
    return true;
}

// Holds every key of the chord but the last, taps the last, then lets go in reverse order.
void press_chord(InputClient &client, const std::vector<uint32_t> &chord) {
    for (uint32_t qnum : chord) {
        client.press_key(qnum);
        pause_between_events();
    }
    for (auto qnum = chord.rbegin(); qnum != chord.rend(); ++qnum) {
        client.release_key(*qnum);
        pause_between_events();
    }
}

// ASCII text as chords of qnums on a US layout: "aB" is {{KEY_A}, {Shift, KEY_B}}.
bool chords_for_text(const std::string &text, std::vector<std::vector<uint32_t>> &chords,
                     std::string &error) {
    const uint32_t shift = *vmcast::qemu::qnum_from_browser_code("ShiftLeft");
    for (char character : text) {
        const auto key = vmcast::qemu::us_layout_key_for(character);
        if (!key) {
            error = "cannot type byte " + std::to_string(uint8_t(character)) +
                    " of --type: only printable ASCII, tab and newline";
            return false;
        }
        const uint32_t qnum = *vmcast::qemu::qnum_from_evdev(key->linux_keycode);
        chords.push_back(key->shift ? std::vector<uint32_t>{shift, qnum}
                                    : std::vector<uint32_t>{qnum});
    }
    return true;
}

void click_left_at(InputClient &client, int32_t x, int32_t y) {
    client.move_to(x, y);
    pause_between_events();
    client.press_button(vmcast::qemu::mouse_button::kLeft);
    pause_between_events();
    client.release_button(vmcast::qemu::mouse_button::kLeft);
    pause_between_events();
}

} // namespace

int main(int argc, char **argv) {
    setlocale(LC_ALL, "");
    gchar *address = nullptr;
    gchar *qmp_socket = nullptr;
    gchar *vm_name = nullptr;
    gint console_index = 0;
    gchar *text = nullptr;
    gchar *keys = nullptr;
    gchar *click = nullptr;
    gchar *move = nullptr;
    gboolean verbose = FALSE;
    const GOptionEntry entries[] = {
        {"address", 'a', 0, G_OPTION_ARG_STRING, &address,
         "D-Bus address of the VM's bus (default: the session bus)", "ADDR"},
        {"qmp", 0, 0, G_OPTION_ARG_STRING, &qmp_socket,
         "QMP socket of a QEMU with -display dbus,p2p=yes: talk to it peer-to-peer", "SOCKET"},
        {"vm", 0, 0, G_OPTION_ARG_STRING, &vm_name, "the VM, when several are on the bus", "NAME"},
        {"console", 'c', 0, G_OPTION_ARG_INT, &console_index, "console index (0)", "N"},
        {"type", 't', 0, G_OPTION_ARG_STRING, &text, "text to type", "TEXT"},
        {"keys", 'k', 0, G_OPTION_ARG_STRING, &keys, "keys to press", "CODE,CODE..."},
        {"click", 0, 0, G_OPTION_ARG_STRING, &click, "left click at console pixel", "X,Y"},
        {"move", 0, 0, G_OPTION_ARG_STRING, &move, "move the pointer to console pixel", "X,Y"},
        {"verbose", 'v', 0, G_OPTION_ARG_NONE, &verbose, "log every refused call", nullptr},
        {nullptr, 0, 0, G_OPTION_ARG_NONE, nullptr, nullptr, nullptr},
    };
    struct ContextFree {
        void operator()(GOptionContext *context) const { g_option_context_free(context); }
    };
    std::unique_ptr<GOptionContext, ContextFree> context(
        g_option_context_new("- send keyboard and mouse input to a QEMU VM"));
    g_option_context_add_main_entries(context.get(), entries, nullptr);
    g_option_context_set_description(context.get(), kDescription);
    GError *raw_error = nullptr;
    const bool parsed = g_option_context_parse(context.get(), &argc, &argv, &raw_error);
    vmcast::GErrorPtr parse_error(raw_error);
    vmcast::GCharPtr owners[] = {vmcast::GCharPtr(address), vmcast::GCharPtr(qmp_socket),
                                 vmcast::GCharPtr(vm_name), vmcast::GCharPtr(text),
                                 vmcast::GCharPtr(keys),    vmcast::GCharPtr(click),
                                 vmcast::GCharPtr(move)};
    if (!parsed)
        return fail(parse_error->message);
    if (argc > 1 || console_index < 0)
        return fail("unexpected arguments (see --help)");
    if (address && qmp_socket)
        return fail("--address and --qmp exclude each other");
    if (verbose)
        g_log_set_debug_enabled(TRUE);

    int32_t click_x = 0, click_y = 0, move_x = 0, move_y = 0;
    if (click && !parse_point(click, click_x, click_y))
        return fail("--click wants X,Y in console pixels");
    if (move && !parse_point(move, move_x, move_y))
        return fail("--move wants X,Y in console pixels");
    std::vector<std::vector<uint32_t>> typed_chords, key_chords;
    std::string error;
    if (text && !chords_for_text(text, typed_chords, error))
        return fail(error);
    if (keys && !parse_keys(keys, key_chords, error))
        return fail(error);

    vmcast::GObjectPtr<GDBusConnection> connection =
        qmp_socket ? vmcast::qemu::open_p2p(qmp_socket, error)
                   : vmcast::qemu::open_bus(address ? address : "", error);
    if (!connection)
        return fail(error);
    const vmcast::qemu::VmInfo vm =
        vmcast::qemu::choose_vm(connection.get(), vm_name ? vm_name : "", error);
    if (!error.empty())
        return fail(error);
    bool console_found = false;
    for (const vmcast::qemu::ConsoleInfo &console : vm.consoles)
        console_found = console_found || console.index == uint32_t(console_index);
    if (!console_found)
        return fail("VM '" + vm.name + "' has no console " + std::to_string(console_index));

    vmcast::qemu::ConsoleInput input(connection.get(), vm.bus_name, uint32_t(console_index));
    std::optional<std::string> start_error;
    input.start([&start_error](const std::string &message) { start_error = message; });
    if (!run_until([&start_error] { return start_error.has_value(); }, kReadyTimeout))
        return fail("QEMU did not answer in time");
    if (!start_error->empty())
        return fail(*start_error);

    {
        std::unique_ptr<InputClient> client = input.new_client("vmcast-send-input");
        if (move) {
            client->move_to(move_x, move_y);
            pause_between_events();
        }
        if (click)
            click_left_at(*client, click_x, click_y);
        for (const std::vector<uint32_t> &chord : typed_chords)
            press_chord(*client, chord);
        for (const std::vector<uint32_t> &chord : key_chords)
            press_chord(*client, chord);
    }
    if (!run_until([&input] { return input.calls_in_flight() == 0; }, kAnswerTimeout))
        return fail(std::to_string(input.calls_in_flight()) + " calls still unanswered");
    printf("mouse %s\n", input.mouse_is_absolute() ? "absolute" : "relative");
    if (input.calls_failed() > 0)
        return fail(std::to_string(input.calls_failed()) + " calls refused by QEMU (--verbose "
                                                           "says which)");
    return 0;
}
