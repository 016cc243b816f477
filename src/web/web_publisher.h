// `vmcast run --web`: an HTTP server (libsoup 3) for the pages (the list of VMs at /, each
// console at /?vm=NAME&console=N) and their WebSocket, and the WebRTC viewers of each console of
// each VM vmcast streams. A console's encoder
// starts with its first viewer and stops after its last; all viewers of a console share it, and its
// bitrate follows the weakest viewer.
#pragma once

#include <libsoup/soup.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/callback_list.h"
#include "common/glib_ptr.h"
#include "common/audio_tap.h"
#include "common/microphone.h"
#include "qemu/clipboard_peer.h"
#include "qemu/console_input.h"
#include "web/access_tokens.h"
#include "web/console_encoder.h"
#include "web/console_screenshots.h"
#include "web/text_strokes.h"
#include "web/viewer.h"
#include "web/vm_list.h"

namespace vmcast::web {

struct WebConsole {
    uint32_t index = 0;
    std::string label;                     // e.g. "VGA"
    std::string node_name;                 // its PipeWire node
    std::function<void()> request_picture; // a whole frame, for a viewer of a static screen
    qemu::ConsoleInput *input = nullptr;   // the console's, which outlives the publisher
    AudioTap *audio =
        nullptr; // the VM's sound when QEMU publishes it; lives as long as the VM here
    std::shared_ptr<Microphone> microphone; // into the VM, when offered (needs audio)
};

// A VM the page shows: its consoles, and the bus its clipboard is reached on.
struct WebVm {
    std::string name;
    GDBusConnection *bus = nullptr; // outlives the VM's place in the publisher
    std::string bus_name;           // QEMU's on the bus, empty on a p2p connection
    std::vector<WebConsole> consoles;
};

struct WebOptions {
    std::string listen = "127.0.0.1:8081"; // HOST:PORT, HOST or :PORT
    AccessTokens tokens = AccessTokens::generate();
    std::optional<Codec> codec;   // empty: H.264 where x264enc is installed, else VP8
    uint32_t bitrate_kbps = 6000; // the encoders' start and the estimates' ceiling
};

// Splits HOST:PORT, [IPv6]:PORT, HOST or :PORT (default port 8081). false with a reason.
bool parse_listen_address(const std::string &text, std::string &host, uint16_t &port,
                          std::string &error);

class WebPublisher {
  public:
    // The encoders read the consoles' nodes through pipewire.
    WebPublisher(WebOptions options, pipewire::PipeWireContext &pipewire);
    WebPublisher(const WebPublisher &) = delete;
    WebPublisher &operator=(const WebPublisher &) = delete;
    ~WebPublisher();

    // Listens; false and a one-line reason in error when it cannot.
    bool start(std::string &error);
    // Shows the VM's consoles at its address (url); pages waiting for it connect again by
    // themselves. Its consoles' inputs must outlive its place here (remove_vm).
    void add_vm(WebVm vm);
    // Tells the VM's pages why their streams end and closes them; their pages wait for the VM
    // to be added again.
    void remove_vm(const std::string &name, const std::string &reason);
    // The VM's page with the full-access token, and with the view-only token. The address stays
    // the same while the VM is away and after it is back.
    std::string url(Access access, const std::string &vm_name) const;
    // The list of every VM streamed since vmcast started, with that access's token.
    std::string list_url(Access access) const;
    // Tells every page why the stream ends (vmcast stops) and closes it.
    void close_all(const std::string &reason);
    // Tokens for the pages from now on (a reload); viewers let in with a token that changed are
    // closed, so a token taken away no longer shows the VM.
    void set_tokens(AccessTokens tokens);
    const AccessTokens &tokens() const { return options_.tokens; }
    // The most kbit/s of each console's video from now on (a reload).
    void set_bitrate(uint32_t kbps);

  private:
    struct VmState;
    struct ConsoleState {
        VmState *vm; // the VM it belongs to
        WebConsole console;
        CallbackList<bool>::Subscription mouse_mode_watch;
        ConsoleScreenshots screenshots; // before the encoder, whose captures call it
        CallbackList<uint32_t>::Subscription led_watch;
        std::unique_ptr<ConsoleEncoder> encoder;
        std::map<uint64_t, std::unique_ptr<Viewer>> viewers;
    };

    struct VmState {
        std::string name;
        std::unique_ptr<qemu::ClipboardPeer> clipboard; // shared by all the VM's viewers
        std::vector<std::unique_ptr<ConsoleState>> consoles;
    };
    // Which console a page asked for; looked up again after the WebSocket handshake, which the
    // VM may not have outlived.
    struct Admission {
        Access access = Access::None;
        std::string vm;
        uint32_t console = 0;
    };

    static void on_page_request(SoupServer *, SoupServerMessage *message, const char *path,
                                GHashTable *query, gpointer self);
    // /vms: the list of VMs as JSON, for the list page.
    static void on_list_request(SoupServer *, SoupServerMessage *message, const char *path,
                                GHashTable *query, gpointer self);
    // /screenshot: a PNG of the console, for a page that watches it.
    static void on_screenshot_request(SoupServer *, SoupServerMessage *message, const char *path,
                                      GHashTable *query, gpointer self);
    static void on_socket_request(SoupServer *, SoupServerMessage *message, const char *path,
                                  GHashTable *query, gpointer self);
    static void on_socket_open(SoupServer *, SoupServerMessage *message, const char *path,
                               SoupWebsocketConnection *socket, gpointer self);
    // What the request (the WebSocket's or a screenshot's) may do: refuses it (status set) when
    // the token or Origin is wrong, or the console does not exist or its VM is not running.
    Access admit(SoupServerMessage *message, GHashTable *query, ConsoleState *&console);
    // The console the query names, or nullptr with an HTTP status and a line for the page.
    ConsoleState *find_console(GHashTable *query, guint &status, std::string &why);
    ConsoleState *console_of(const std::string &vm, uint32_t index);
    // What the query's token allows.
    Access access_of(GHashTable *query) const;
    std::vector<ListedVm> listed_vms() const;
    // http://HOST:PORT, with an address a browser on this machine can open.
    std::string server_url() const;
    bool ensure_encoder(ConsoleState &console, std::string &error);
    void close_all_of(ConsoleState &console, const std::string &reason);
    void viewer_closed(ConsoleState &console, Viewer &viewer);
    void adapt_bitrate(ConsoleState &console);
    std::string hello_json(const ConsoleState &console, Access access) const;
    void send_mouse_mode(ConsoleState &console, bool absolute);
    void send_keyboard_leds(ConsoleState &console, uint32_t leds);
    // To every full-access viewer of the VM: the text the guest copied.
    void send_guest_clipboard(VmState &vm, const std::string &text);

    WebOptions options_;
    pipewire::PipeWireContext &pipewire_;
    Codec codec_ = Codec::VP8;
    std::string host_;
    uint16_t port_ = 0;
    GObjectPtr<GInetAddress> inet_address_; // host_, parsed
    std::string ice_address_;               // the one address ICE may use, or empty for all
    GObjectPtr<SoupServer> server_;
    std::map<std::string, std::unique_ptr<VmState>> vms_; // the running ones, by name
    StoppedVms stopped_;                                  // for the list
    uint64_t next_viewer_id_ = 1;
    TypingLayouts typing_layouts_; // every viewer's, compiled when first used
};

} // namespace vmcast::web
