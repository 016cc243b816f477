// `vmcast run --web`: an HTTP server (libsoup 3) for the page and its WebSocket, and the WebRTC
// viewers of each console. A console's encoder starts with its first viewer and stops after its
// last; all viewers of a console share it, and its bitrate follows the weakest viewer.
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
#include "qemu/clipboard_peer.h"
#include "qemu/console_input.h"
#include "web/access_tokens.h"
#include "web/console_encoder.h"
#include "web/viewer.h"

namespace vmcast::web {

struct WebConsole {
    uint32_t index = 0;
    std::string label;                     // e.g. "VGA"
    std::string node_name;                 // its PipeWire node
    std::function<void()> request_picture; // a whole frame, for a viewer of a static screen
    qemu::ConsoleInput *input = nullptr;   // the console's, which outlives the publisher
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
    // bus_name is QEMU's on the bus, empty on a p2p connection. The encoders read the consoles'
    // nodes through pipewire.
    WebPublisher(WebOptions options, pipewire::PipeWireContext &pipewire, GDBusConnection *bus,
                 std::string bus_name, std::string vm_name, std::vector<WebConsole> consoles);
    WebPublisher(const WebPublisher &) = delete;
    WebPublisher &operator=(const WebPublisher &) = delete;
    ~WebPublisher();

    // Listens; false and a one-line reason in error when it cannot.
    bool start(std::string &error);
    // The page's address with the full-access token, and with the view-only token.
    std::string url(Access access) const;
    // Tells every page why the stream ends (the VM went away, vmcast stops) and closes it.
    void close_all(const std::string &reason);

  private:
    struct ConsoleState {
        WebConsole console;
        CallbackList<bool>::Subscription mouse_mode_watch;
        std::unique_ptr<ConsoleEncoder> encoder;
        std::map<uint64_t, std::unique_ptr<Viewer>> viewers;
    };

    struct Admission {
        Access access = Access::None;
        ConsoleState *console = nullptr;
    };

    static void on_page_request(SoupServer *, SoupServerMessage *message, const char *path,
                                GHashTable *query, gpointer self);
    static void on_socket_request(SoupServer *, SoupServerMessage *message, const char *path,
                                  GHashTable *query, gpointer self);
    static void on_socket_open(SoupServer *, SoupServerMessage *message, const char *path,
                               SoupWebsocketConnection *socket, gpointer self);
    // What the request may do: refuses it (status set) when the token or Origin is wrong, or the
    // console does not exist.
    Access admit(SoupServerMessage *message, GHashTable *query, ConsoleState *&console);
    ConsoleState *find_console(GHashTable *query);
    bool ensure_encoder(ConsoleState &console, std::string &error);
    void close_all_of(ConsoleState &console, const std::string &reason);
    void viewer_closed(ConsoleState &console, Viewer &viewer);
    void adapt_bitrate(ConsoleState &console);
    std::string hello_json(const ConsoleState &console, Access access) const;
    void send_mouse_mode(ConsoleState &console, bool absolute);
    // To every full-access viewer: the text the guest copied.
    void send_guest_clipboard(const std::string &text);

    WebOptions options_;
    pipewire::PipeWireContext &pipewire_;
    Codec codec_ = Codec::VP8;
    GDBusConnection *bus_;
    std::string bus_name_;
    std::string vm_name_;
    std::string host_;
    uint16_t port_ = 0;
    GObjectPtr<GInetAddress> inet_address_; // host_, parsed
    std::string ice_address_;               // the one address ICE may use, or empty for all
    GObjectPtr<SoupServer> server_;
    std::unique_ptr<qemu::ClipboardPeer> clipboard_; // one for the VM, shared by all viewers
    std::vector<std::unique_ptr<ConsoleState>> consoles_;
    uint64_t next_viewer_id_ = 1;
};

} // namespace vmcast::web
