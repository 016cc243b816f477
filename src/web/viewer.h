// One browser watching one console: its WebSocket (signalling), its webrtcbin behind the
// console's shared encoder, its "input" data channel, and its input handle to the VM. A
// view-only viewer has no input handle; what it sends on the data channel is refused.
#pragma once

#include <gst/gst.h>
#include <libsoup/soup.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "common/glib_ptr.h"
#include "qemu/console_input.h"
#include "compositor/layout_keys.h"
#include "web/console_encoder.h"
#include "web/key_sequencer.h"
#include "web/main_thread.h"
#include "web/messages.h"
#include "web/microphone_branch.h"
#include "web/rate_limiter.h"

namespace vmcast::web {

class Viewer {
  public:
    struct Hooks {
        std::function<void(Viewer &)> closed;            // the page went away: destroy the viewer
        std::function<void()> picture_needed;            // a fresh frame, so a static screen shows
        std::function<void(Viewer &)> bitrate_estimated; // a new estimate from RTCP reports
        // The page copied text for the VM; false and why not in error.
        std::function<bool(std::string text, std::string &error)> clipboard_copied;
        // The reverse of a keyboard layout, for typing text; nullptr and why not in error.
        std::function<const compositor::LayoutKeys *(const std::string &layout, std::string &error)>
            layout_keys;
        // The guest's keyboard LEDs, qemu::keyboard_led bits.
        std::function<uint32_t()> keyboard_leds;
    };

    // ice_address: the only local address ICE may use, or empty for every interface.
    // input is null for a view-only viewer; microphone is null unless the viewer may send its
    // microphone to the VM.
    // tcp_socket: the WebSocket's own socket, to see whether the page reads what it is sent.
    Viewer(uint64_t id, GObjectPtr<SoupWebsocketConnection> socket, GObjectPtr<GSocket> tcp_socket,
           ConsoleEncoder &encoder, std::unique_ptr<qemu::InputClient> input,
           std::shared_ptr<Microphone> microphone, std::string ice_address, Hooks hooks);
    Viewer(const Viewer &) = delete;
    Viewer &operator=(const Viewer &) = delete;
    ~Viewer();

    // Sends the greeting the page needs before the offer, then negotiates.
    void start(const std::string &hello_json);
    void send_text(const std::string &text);
    // Closes the WebSocket with a reason the page shows.
    void close(const std::string &reason);

    uint64_t id() const { return id_; }
    // Whether this viewer may drive the VM (and share its clipboard).
    bool full_access() const { return bool(input_); }
    ConsoleEncoder &encoder() { return encoder_; }
    // The bitrate this viewer's network seems to carry, from its receiver reports.
    uint32_t bitrate_estimate_kbps() const { return bitrate_estimate_kbps_; }

  private:
    static void on_socket_message(SoupWebsocketConnection *, gint type, GBytes *message,
                                  gpointer self);
    static void on_socket_closed(SoupWebsocketConnection *, gpointer self);
    static void on_ice_candidate(GstElement *, guint mline, gchar *candidate, gpointer self);
    static void on_connection_state(GObject *, GParamSpec *, gpointer self);
    static void on_data_channel_message(GObject *, gchar *text, gpointer self);

    void create_offer();
    void offer_created(GstPromise *promise);
    void handle_signalling(std::string_view text);
    void handle_input(const std::string &text);
    void add_clipboard_piece(ClipboardPiece piece);
    void press_combo(const KeyCombo &combo);
    void type_text(const TypeText &typed);
    void switch_microphone(bool on);
    void refuse(const std::string &what);
    void close_socket(SoupWebsocketCloseCode code, const std::string &reason);
    void poll_stats();
    void stats_arrived(const GstStructure *stats);

    uint64_t id_;
    GObjectPtr<SoupWebsocketConnection> socket_;
    GObjectPtr<GSocket> tcp_socket_;
    // Bytes sent since the socket last had room. libsoup queues what the socket cannot take
    // without a limit, so this is what a page that stopped reading costs vmcast's memory.
    size_t unsent_bytes_ = 0;
    ConsoleEncoder &encoder_;
    std::unique_ptr<qemu::InputClient> input_;
    std::unique_ptr<KeySequencer> sequencer_; // over input_, so it goes first
    std::string ice_address_;
    Hooks hooks_;
    GstElement *webrtc_ = nullptr; // owned by the encoder's pipeline
    ConsoleEncoder::Branch *branch_ = nullptr;
    std::shared_ptr<Microphone> microphone_;
    std::unique_ptr<MicrophoneBranch> microphone_branch_; // with microphone_, after branch_
    GObjectPtr<GObject> data_channel_;
    SignalConnection socket_message_;
    SignalConnection socket_closed_;
    SignalConnection data_channel_message_;
    bool connected_ = false;
    RateLimiter motion_limit_;
    RateLimiter key_limit_;
    RateLimiter error_limit_;
    RateLimiter clipboard_limit_;
    std::string clipboard_text_;     // the pieces received so far
    bool clipboard_dropped_ = false; // the text in progress was refused: skip to its end
    GSourcePtr stats_timer_;
    uint32_t bitrate_estimate_kbps_;
    uint64_t last_bytes_sent_ = 0;
    Lifeline lifeline_; // last: GStreamer threads' work is dropped first
};

} // namespace vmcast::web
