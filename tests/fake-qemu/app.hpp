// State of the fake QEMU peer: the exported display objects, the registered listeners, and
// what was last shown on each console.
#pragma once

#include "args.hpp"
#include "audio.hpp"
#include "buffers.hpp"
#include "json.hpp"
#include "pixels.hpp"
#include "util.hpp"

#include "qemu-display1.h"

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace fakeqemu {

// Protocol versions as major * 100 + minor.
inline constexpr int kV80 = 800;   // cursor replay to new listeners
inline constexpr int kV81 = 801;   // Interfaces properties, MultiTouch
inline constexpr int kV92 = 902;   // Unix.Map, several listeners per sender
inline constexpr int kV101 = 1001; // ScanoutDMABUF2
inline constexpr int kDefaultTimeoutMs = 5000;
inline constexpr int kQemuTimeoutMs = 1000; // DBUS_DEFAULT_TIMEOUT

struct Options {
    std::string address;
    std::string name;
    std::string uuid = "00000000-0000-0000-0000-000000000000";
    unsigned consoles = 1;
    int version = 702;
    std::string version_text = "7.2";
    int p2p_fd = -1;
    uint32_t width = 640, height = 480;
    bool absolute = false;
    bool audio = false; // -audiodev dbus: the Audio object
};

struct App;

struct Listener {
    App *app = nullptr;
    int id = 0;
    unsigned console = 0;
    std::string key; // sender (or "p2p"), the per-sender registration key up to 9.1
    GObjPtr<GDBusConnection> conn;
    GObjPtr<GDBusProxy> proxy, map_proxy, dmabuf2_proxy;
    std::vector<std::string> interfaces;
    bool map_ok = false;      // Map advertised, no ScanoutMap failed yet
    bool map_current = false; // the console's current map was announced with ScanoutMap
    gulong closed_id = 0;

    Listener() = default;
    Listener(const Listener &) = delete;
    Listener &operator=(const Listener &) = delete;
    ~Listener();
};
using ListenerPtr = std::shared_ptr<Listener>;

enum class ScanoutKind { None, Scanout, Dmabuf, Dmabuf2, Map };

struct Surface2D {
    uint32_t width = 0, height = 0, stride = 0, format = 0;
    std::vector<uint8_t> data; // raw bytes as last sent (used to replay to new listeners)
};

struct DmabufState {
    std::vector<UniqueFd> fds; // distinct fds
    std::vector<size_t> fd_of; // plane -> index in fds
    std::vector<Plane> planes;
    uint32_t x = 0, y = 0, width = 0, height = 0, backing_width = 0, backing_height = 0;
    uint32_t fourcc = 0, num_planes = 1;
    uint64_t modifier = 0;
    bool y0_top = false;
    std::vector<uint32_t> offsets, strides;
    bool paintable = false; // the planes are memfds the peer can write into
    UniqueFd pipe_writer;   // keeps fd=bad pipes open
};

struct MapState {
    UniqueFd fd;
    uint32_t offset = 0, width = 0, height = 0, stride = 0, format = 0;
};

struct CursorState {
    bool defined = false;
    int32_t width = 0, height = 0, hot_x = 0, hot_y = 0;
    std::vector<uint8_t> data;
    bool mouse_set = false;
    int32_t x = 0, y = 0, on = 0;
};

struct Console {
    App *app = nullptr;
    unsigned index = 0;
    GObjPtr<GDBusObjectSkeleton> object;
    GObjPtr<QemuDisplayConsole> iface;
    GObjPtr<QemuDisplayKeyboard> keyboard;
    GObjPtr<QemuDisplayMouse> mouse;
    GObjPtr<QemuDisplayMultiTouch> touch;
    std::vector<ListenerPtr> listeners;
    bool ui_info_supported = true;

    ScanoutKind last = ScanoutKind::None;
    Surface2D surface;
    DmabufState dmabuf;
    MapState map;
    CursorState cursor;
    Frame shadow;       // what a correct client shows now
    Frame cursor_frame; // the cursor image a correct client shows
};

struct ClipboardState {
    GObjPtr<GDBusObjectSkeleton> object;
    GObjPtr<QemuDisplayClipboard> iface;
    std::string peer; // the registered client's unique name, "p2p", or empty
    guint peer_watch = 0;
    std::string guest_text; // what the pretend guest copied, as bytes
    std::string guest_mime;
    bool guest_owns = false; // the guest's grab is the current one
    uint32_t serial = 0;
};

// One stdin command, from parsing to its result line.
struct CommandRun {
    std::string verb;
    std::string id_json; // JSON value of id=, empty when none was given
    Args args;
    Json extra;
    int64_t start_us = 0;
    int64_t elapsed_us = -1; // set by listener calls: time from sending to the last reply
    bool done = false;
};
using CommandPtr = std::shared_ptr<CommandRun>;

struct Waiter {
    CommandPtr cmd;
    unsigned console = 0;
    size_t count = 1;
    bool want_none = false;
    guint timeout_id = 0;
};

struct App {
    Options opts;
    GMainLoop *loop = nullptr;
    GObjPtr<GDBusConnection> conn; // the bus, or the p2p client connection
    GObjPtr<GDBusObjectManagerServer> server;
    GObjPtr<GDBusObjectSkeleton> vm_object;
    GObjPtr<QemuDisplayVM> vm;
    std::vector<std::unique_ptr<Console>> consoles;
    ClipboardState clipboard;
    AudioState audio;
    int next_listener_id = 1;
    std::optional<Waiter> waiter;
    std::function<void()> command_done; // resumes reading stdin

    bool at_least(int version) const { return opts.version >= version; }
    Console &console_arg(const Args &args);
};

// objects.cpp
// A subtype of skeleton type parent whose interface info omits property hidden (for versions
// before the property existed).
GType legacy_type(GType parent, GDBusInterfaceInfo *full, const char *hidden);
void create_display_objects(App &app);
void connect_bus(App &app);
void connect_p2p(App &app);

// clipboard.cpp
void create_clipboard(App &app);
void cmd_clipboard_guest_copy(App &app, const CommandPtr &cmd);
void cmd_clipboard_guest_paste(App &app, const CommandPtr &cmd);
void cmd_clipboard_reset(App &app, const CommandPtr &cmd);

// audio.cpp
void cmd_audio_init(App &app, const CommandPtr &cmd);
void cmd_audio_fini(App &app, const CommandPtr &cmd);
void cmd_audio_enable(App &app, const CommandPtr &cmd);
void cmd_audio_volume(App &app, const CommandPtr &cmd);
void cmd_audio_write(App &app, const CommandPtr &cmd);
void cmd_audio_tone(App &app, const CommandPtr &cmd);
void cmd_audio_stop(App &app, const CommandPtr &cmd);
void cmd_wait_audio_listener(App &app, const CommandPtr &cmd);
void drop_audio_listeners(App &app);

// audio_in.cpp
void cmd_audio_in_start(App &app, const CommandPtr &cmd);
void cmd_audio_in_stats(App &app, const CommandPtr &cmd);
void cmd_audio_in_stop(App &app, const CommandPtr &cmd);
void cmd_audio_in_call(App &app, const CommandPtr &cmd);
// A new input listener gets the recording voice's Init and SetEnabled, as from QEMU.
void replay_capture(App &app, AudioListener &listener);

// registration.cpp
gboolean on_register_listener(QemuDisplayConsole *iface, GDBusMethodInvocation *invocation,
                              GUnixFDList *fd_list, GVariant *handle, gpointer console);
void cmd_wait_listener(App &app, const CommandPtr &cmd, bool want_none);
void drop_all_listeners(App &app);

// calls.cpp
void finish_ok(App &app, const CommandPtr &cmd);
void finish_error(App &app, const CommandPtr &cmd, const std::string &name,
                  const std::string &message);
void describe_error(const GError *error, std::string &name, std::string &message);

// Issues listener calls for one command and finishes it once every reply is in.
class CallBatch : public std::enable_shared_from_this<CallBatch> {
  public:
    using ReplyHook = std::function<void(Listener &, const GError *)>;
    static std::shared_ptr<CallBatch> create(App &app, const CommandPtr &cmd);

    // params may be floating (it is then consumed).
    void call(const ListenerPtr &listener, GDBusProxy *proxy, const char *method, GVariant *params,
              GUnixFDList *fds = nullptr, ReplyHook hook = {});
    // A blocking call (QEMU's ScanoutMap); the main loop does not run meanwhile.
    void call_sync(const ListenerPtr &listener, GDBusProxy *proxy, const char *method,
                   GVariant *params, GUnixFDList *fds = nullptr, ReplyHook hook = {});
    // Call after issuing the calls: finishes the command when no reply is pending.
    void done_sending();
    int timeout_ms() const { return timeout_ms_; }
    void set_timeout_ms(int ms) { timeout_ms_ = ms; }

  private:
    CallBatch(App &app, CommandPtr cmd) : app_(app), cmd_(std::move(cmd)) {}
    void record(Listener &listener, const GError *error, const ReplyHook &hook);
    static void on_reply(GObject *source, GAsyncResult *res, gpointer data);
    void maybe_finish();

    App &app_;
    CommandPtr cmd_;
    int timeout_ms_ = kDefaultTimeoutMs;
    bool nowait_ = false;
    bool sending_ = true;
    int pending_ = 0, calls_ = 0;
    int64_t first_sent_us_ = 0;
    std::string error_name_, error_message_;
};

// Fire-and-forget call, as QEMU makes most of its listener calls.
void call_no_reply(GDBusProxy *proxy, const char *method, GVariant *params,
                   GUnixFDList *fds = nullptr);

// commands_2d.cpp
void cmd_scanout(App &app, const CommandPtr &cmd);
struct ScanoutParams {
    uint32_t width, height, stride, format;
    uint64_t size; // of the data
};
// Makes the pattern con's current surface (and intended picture, for save=) and returns the
// Listener.Scanout parameters (floating).
GVariant *prepare_scanout(const CommandPtr &cmd, Console &con, const ScanoutParams &params,
                          Pattern pattern);
void cmd_update(App &app, const CommandPtr &cmd);
void cmd_cursor(App &app, const CommandPtr &cmd);
void cmd_mouse_set(App &app, const CommandPtr &cmd);
void replay_2d(Console &con, const ListenerPtr &listener, std::vector<std::string> &sent);
// Result fields and save= for a frame change.
void report_frame(const CommandPtr &cmd, const Frame &frame);

// commands_dmabuf.cpp
void cmd_scanout_dmabuf(App &app, const CommandPtr &cmd);
void cmd_update_dmabuf(App &app, const CommandPtr &cmd);
// ftruncates plane 0 of the current memfd DMA-BUF (after scanout-dmabuf sealed=0).
void cmd_truncate_dmabuf(App &app, const CommandPtr &cmd);
void cmd_scanout_dmabuf2(App &app, const CommandPtr &cmd);
void cmd_disable(App &app, const CommandPtr &cmd);
// Replays the current DMA-BUF or map scanout to a new listener.
void replay_gpu(Console &con, const ListenerPtr &listener, std::vector<std::string> &sent);

// commands_map.cpp
void cmd_scanout_map(App &app, const CommandPtr &cmd);
void cmd_update_map(App &app, const CommandPtr &cmd);
void cmd_truncate_map(App &app, const CommandPtr &cmd);
void replay_map(Console &con, const ListenerPtr &listener, std::vector<std::string> &sent);

// commands_stream.cpp
// Paced or flat-out Update/UpdateMap ticks with a seq stamp in the pixels (for bench/).
void cmd_stream(App &app, const CommandPtr &cmd);

// commands_hostile.cpp
// Random well-typed calls, valid and malformed, for a while; then one valid Scanout.
void cmd_hostile(App &app, const CommandPtr &cmd);

// commands_misc.cpp
void cmd_set_size(App &app, const CommandPtr &cmd);
void cmd_set_absolute(App &app, const CommandPtr &cmd);
void cmd_set_modifiers(App &app, const CommandPtr &cmd);
void cmd_set_ui_info(App &app, const CommandPtr &cmd);
void cmd_save(App &app, const CommandPtr &cmd);
void cmd_status(App &app, const CommandPtr &cmd);
void cmd_sleep(App &app, const CommandPtr &cmd);

// An "ay" GVariant (floating) that owns data without copying it.
GVariant *bytes_variant(std::vector<uint8_t> data);

// Listeners of the command's console; throws NoListener when there are none.
std::vector<ListenerPtr> target_listeners(Console &con);
// Sets Console.Width/Height like QEMU does on a surface switch.
void set_console_size(Console &con, uint32_t width, uint32_t height);

} // namespace fakeqemu
