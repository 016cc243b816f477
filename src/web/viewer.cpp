#include "web/viewer.h"

#include <gst/sdp/sdp.h>
#define GST_USE_UNSTABLE_API // webrtc's headers warn without it
#include <gst/webrtc/webrtc.h>

#include <memory>
#include <utility>

#include "qemu/clipboard_peer.h"
#include "web/audio_branch.h"
#include "web/bitrate_control.h"

namespace vmcast::web {
namespace {

using ViewerCallback = ThreadCallback<Viewer>;

constexpr guint kStatsIntervalMs = 1000;
// What a viewer's socket may hold back before vmcast closes it: several whole guest clipboards,
// which a page that reads at all takes in well before this.
constexpr size_t kMaxUnsentBytes = 8 * qemu::kMaxClipboardBytes;

struct GstPromiseUnref {
    void operator()(GstPromise *promise) const { gst_promise_unref(promise); }
};
using GstPromisePtr = std::unique_ptr<GstPromise, GstPromiseUnref>;

gpointer thread_callback(Viewer *viewer, const Lifeline &lifeline) {
    return new ViewerCallback{lifeline.handle(), viewer};
}

} // namespace

Viewer::Viewer(uint64_t id, GObjectPtr<SoupWebsocketConnection> socket,
               GObjectPtr<GSocket> tcp_socket, ConsoleEncoder &encoder,
               std::unique_ptr<qemu::InputClient> input, std::shared_ptr<Microphone> microphone,
               std::string ice_address, Hooks hooks)
    : id_(id), socket_(std::move(socket)), tcp_socket_(std::move(tcp_socket)), encoder_(encoder),
      input_(std::move(input)), ice_address_(std::move(ice_address)), hooks_(std::move(hooks)),
      microphone_(std::move(microphone)),
      // Far beyond what a person does (a fast mouse sends 250 moves a second, a typist 20
      // keys), while a flood does not turn into D-Bus traffic.
      motion_limit_(1000, 2000), key_limit_(200, 400), error_limit_(5, 20),
      // 64 pieces a second carry about 1.5 MiB of text: a whole clipboard in under a second.
      clipboard_limit_(64, 64), bitrate_estimate_kbps_(encoder.bitrate_kbps()) {
    if (input_)
        sequencer_ = std::make_unique<KeySequencer>(*input_);
    soup_websocket_connection_set_max_incoming_payload_size(socket_.get(),
                                                            kMaxSignallingMessageBytes);
    soup_websocket_connection_set_keepalive_interval(socket_.get(), 15);
    socket_message_ =
        SignalConnection(socket_.get(), "message", G_CALLBACK(on_socket_message), this);
    socket_closed_ = SignalConnection(socket_.get(), "closed", G_CALLBACK(on_socket_closed), this);
}

Viewer::~Viewer() {
    if (microphone_)
        microphone_->release(id_);
    if (branch_)
        encoder_.detach(branch_);
    microphone_branch_.reset(); // after webrtcbin stopped: it links nothing to it any more
    if (soup_websocket_connection_get_state(socket_.get()) == SOUP_WEBSOCKET_STATE_OPEN)
        soup_websocket_connection_close(socket_.get(), SOUP_WEBSOCKET_CLOSE_GOING_AWAY, nullptr);
}

void Viewer::start(const std::string &hello_json) {
    send_text(hello_json);
    webrtc_ = gst_element_factory_make("webrtcbin", ("viewer-" + std::to_string(id_)).c_str());
    gst_util_set_object_arg(G_OBJECT(webrtc_), "bundle-policy", "max-bundle");
    g_signal_connect_data(webrtc_, "on-ice-candidate", G_CALLBACK(on_ice_candidate),
                          thread_callback(this, lifeline_), ViewerCallback::destroy,
                          GConnectFlags(0));
    g_signal_connect_data(webrtc_, "notify::connection-state", G_CALLBACK(on_connection_state),
                          thread_callback(this, lifeline_), ViewerCallback::destroy,
                          GConnectFlags(0));
    if (!ice_address_.empty()) {
        // libnice gathers every interface but loopback by default: naming the address vmcast
        // serves on keeps the media on the same network as the page (and makes loopback work).
        GObject *ice = nullptr;
        g_object_get(webrtc_, "ice-agent", &ice, nullptr);
        gboolean added = FALSE;
        g_signal_emit_by_name(ice, "add-local-ip-address", ice_address_.c_str(), &added);
        g_object_unref(ice);
        if (!added)
            g_warning("viewer %lu: ICE cannot use %s", id_, ice_address_.c_str());
    }
    branch_ = encoder_.attach(webrtc_);
    if (microphone_) {
        std::string error;
        microphone_branch_ = MicrophoneBranch::create(webrtc_, microphone_, id_, error);
        if (!microphone_branch_) {
            g_warning("viewer %lu: %s", id_, error.c_str());
            microphone_.reset();
        }
    }

    // The picture, and the sound when the VM has some.
    for (int index = 0; index < 2; index++) {
        GstWebRTCRTPTransceiver *transceiver = nullptr;
        g_signal_emit_by_name(webrtc_, "get-transceiver", index, &transceiver);
        if (!transceiver)
            continue;
        // Retransmission for the picture only: browsers take no RTX stream for sound (Chromium
        // refuses the offer), and Opus conceals a lost packet.
        // The sound's transceiver also receives when the page may send its microphone.
        g_object_set(transceiver, "direction",
                     index == 1 && microphone_ ? GST_WEBRTC_RTP_TRANSCEIVER_DIRECTION_SENDRECV
                                               : GST_WEBRTC_RTP_TRANSCEIVER_DIRECTION_SENDONLY,
                     "do-nack", index == 0, nullptr);
        if (index == 1) {
            GstCaps *opus = gst_caps_from_string(kOpusRtpCaps);
            g_object_set(transceiver, "codec-preferences", opus, nullptr);
            gst_caps_unref(opus);
        }
        gst_object_unref(transceiver);
    }
    // In the first offer, so no second negotiation is needed; ordered, for key order.
    GstWebRTCDataChannel *channel = nullptr;
    g_signal_emit_by_name(webrtc_, "create-data-channel", "input", nullptr, &channel);
    if (channel) {
        data_channel_.reset(G_OBJECT(channel));
        g_signal_connect_data(channel, "on-message-string", G_CALLBACK(on_data_channel_message),
                              thread_callback(this, lifeline_), ViewerCallback::destroy,
                              GConnectFlags(0));
    } else {
        g_warning("viewer %lu: webrtcbin made no data channel; input will not work", id_);
    }
    create_offer();
}

void Viewer::create_offer() {
    GstPromisePtr promise(gst_promise_new_with_change_func(
        [](GstPromise *promise, gpointer data) {
            auto *callback = static_cast<ViewerCallback *>(data);
            Viewer *viewer = callback->owner;
            // Shared, so the reference goes also when the viewer is gone and the work dropped.
            std::shared_ptr<GstPromise> replied(gst_promise_ref(promise), GstPromiseUnref());
            callback->lifeline.post([viewer, replied] { viewer->offer_created(replied.get()); });
        },
        thread_callback(this, lifeline_), ViewerCallback::destroy_notify));
    g_signal_emit_by_name(webrtc_, "create-offer", nullptr, promise.get());
}

void Viewer::offer_created(GstPromise *promise) {
    const GstStructure *reply = gst_promise_get_reply(promise);
    GstWebRTCSessionDescription *offer = nullptr;
    if (gst_promise_wait(promise) != GST_PROMISE_RESULT_REPLIED || !reply ||
        !gst_structure_get(reply, "offer", GST_TYPE_WEBRTC_SESSION_DESCRIPTION, &offer, nullptr)) {
        close("vmcast could not create a WebRTC offer");
        return;
    }
    g_signal_emit_by_name(webrtc_, "set-local-description", offer, nullptr);
    GCharPtr sdp(gst_sdp_message_as_text(offer->sdp));
    gst_webrtc_session_description_free(offer);
    send_text(json_message({{"type", "offer"}, {"sdp", sdp.get()}}));
}

void Viewer::send_text(const std::string &text) {
    if (soup_websocket_connection_get_state(socket_.get()) != SOUP_WEBSOCKET_STATE_OPEN)
        return;
    soup_websocket_connection_send_text(socket_.get(), text.c_str());
    // libsoup writes at once what the socket takes: room left means nothing is held back.
    if (!tcp_socket_ || g_socket_condition_check(tcp_socket_.get(), G_IO_OUT)) {
        unsent_bytes_ = 0;
        return;
    }
    unsent_bytes_ += text.size();
    if (unsent_bytes_ > kMaxUnsentBytes) {
        g_warning("viewer %lu: the page reads nothing it is sent (%zu bytes waiting); closing it",
                  id_, unsent_bytes_);
        close_socket(SOUP_WEBSOCKET_CLOSE_POLICY_VIOLATION, "the page stopped reading");
    }
}

void Viewer::close(const std::string &reason) {
    g_info("viewer %lu: closing: %s", id_, reason.c_str());
    if (soup_websocket_connection_get_state(socket_.get()) == SOUP_WEBSOCKET_STATE_OPEN) {
        send_text(json_message({{"type", "bye"}, {"reason", reason}}));
        close_socket(SOUP_WEBSOCKET_CLOSE_NORMAL, reason);
    }
}

void Viewer::close_socket(SoupWebsocketCloseCode code, const std::string &reason) {
    if (soup_websocket_connection_get_state(socket_.get()) != SOUP_WEBSOCKET_STATE_OPEN)
        return;
    soup_websocket_connection_close(socket_.get(), code, reason.substr(0, 120).c_str());
    // The page gets its goodbye even when the viewer goes right after (its VM stopped): the
    // connection keeps itself until the closing handshake ends, which libsoup bounds (5 s) for
    // a page that never answers.
    g_signal_connect(
        socket_.get(), "closed",
        G_CALLBACK(+[](SoupWebsocketConnection *socket, gpointer) { g_object_unref(socket); }),
        nullptr);
    g_object_ref(socket_.get());
}

void Viewer::refuse(const std::string &what) {
    g_debug("viewer %lu: refused: %s", id_, what.c_str());
    if (error_limit_.allow())
        send_text(error_message_json(what));
}

void Viewer::on_socket_message(SoupWebsocketConnection *, gint type, GBytes *message,
                               gpointer data) {
    auto *self = static_cast<Viewer *>(data);
    if (type != SOUP_WEBSOCKET_DATA_TEXT) {
        self->refuse("signalling messages are JSON text");
        return;
    }
    gsize size = 0;
    const auto *bytes = static_cast<const char *>(g_bytes_get_data(message, &size));
    if (size > kMaxSignallingMessageBytes) {
        // libsoup 3.2 delivers messages over its max-incoming-payload-size.
        g_warning("viewer %lu: a %zu-byte signalling message; closing its WebSocket", self->id_,
                  size);
        soup_websocket_connection_close(self->socket_.get(), SOUP_WEBSOCKET_CLOSE_TOO_BIG,
                                        "message too big");
        return;
    }
    self->handle_signalling(std::string_view(bytes, size));
}

void Viewer::on_socket_closed(SoupWebsocketConnection *, gpointer data) {
    auto *self = static_cast<Viewer *>(data);
    // The hook destroys the viewer, which must not happen inside the socket's own signal.
    self->lifeline_.post([self] { self->hooks_.closed(*self); });
}

void Viewer::handle_signalling(std::string_view text) {
    SignallingMessage message;
    std::string error;
    if (!parse_signalling(text, message, error)) {
        refuse(error);
        return;
    }
    if (const auto *answer = std::get_if<SdpAnswer>(&message)) {
        GstSDPMessage *sdp = nullptr;
        gst_sdp_message_new_from_text(answer->sdp.c_str(), &sdp);
        if (!sdp || gst_sdp_message_medias_len(sdp) == 0) {
            if (sdp)
                gst_sdp_message_free(sdp);
            refuse("the answer's SDP has no media");
            return;
        }
        GstWebRTCSessionDescription *description =
            gst_webrtc_session_description_new(GST_WEBRTC_SDP_TYPE_ANSWER, sdp);
        g_signal_emit_by_name(webrtc_, "set-remote-description", description, nullptr);
        gst_webrtc_session_description_free(description);
    } else if (const auto *candidate = std::get_if<RemoteCandidate>(&message)) {
        if (!candidate->candidate.empty())
            g_signal_emit_by_name(webrtc_, "add-ice-candidate", candidate->mline_index,
                                  candidate->candidate.c_str());
    }
}

void Viewer::on_ice_candidate(GstElement *, guint mline, gchar *candidate, gpointer data) {
    auto *callback = static_cast<ViewerCallback *>(data);
    Viewer *viewer = callback->owner;
    callback->lifeline.post([viewer, mline, text = std::string(candidate)] {
        viewer->send_text(
            json_message({{"type", "ice"}, {"candidate", text}}, "sdpMLineIndex", mline));
    });
}

void Viewer::on_connection_state(GObject *webrtc, GParamSpec *, gpointer data) {
    auto *callback = static_cast<ViewerCallback *>(data);
    Viewer *viewer = callback->owner;
    GstWebRTCPeerConnectionState state = GST_WEBRTC_PEER_CONNECTION_STATE_NEW;
    g_object_get(webrtc, "connection-state", &state, nullptr);
    callback->lifeline.post([viewer, state] {
        if (state == GST_WEBRTC_PEER_CONNECTION_STATE_CONNECTED && !viewer->connected_) {
            viewer->connected_ = true;
            g_info("viewer %lu: connected", viewer->id_);
            // The picture starts with a keyframe, and a static screen still sends one frame.
            viewer->encoder_.request_keyframe();
            viewer->hooks_.picture_needed();
            viewer->stats_timer_ = attach_timeout(
                kStatsIntervalMs,
                [](gpointer self) -> gboolean {
                    static_cast<Viewer *>(self)->poll_stats();
                    return G_SOURCE_CONTINUE;
                },
                viewer);
        } else if (state == GST_WEBRTC_PEER_CONNECTION_STATE_FAILED) {
            viewer->close("the WebRTC connection failed (no network path between browser and "
                          "vmcast?)");
        }
    });
}

void Viewer::on_data_channel_message(GObject *, gchar *text, gpointer data) {
    auto *callback = static_cast<ViewerCallback *>(data);
    Viewer *viewer = callback->owner;
    callback->lifeline.post(
        [viewer, message = std::string(text ? text : "")] { viewer->handle_input(message); });
}

void Viewer::handle_input(const std::string &text) {
    if (!input_) {
        refuse(input_type(text) == "resize"
                   ? "this viewer may only watch: resizing the VM needs the full-access token"
                   : "this viewer may only watch: input needs the full-access token");
        return;
    }
    InputMessage message;
    std::string error;
    if (!parse_input(text, message, error)) {
        refuse(error);
        return;
    }
    if (auto *piece = std::get_if<ClipboardPiece>(&message)) {
        add_clipboard_piece(std::move(*piece));
        return;
    }
    if (std::holds_alternative<CancelTyping>(message)) {
        sequencer_->cancel();
        return;
    }
    if (const auto *microphone = std::get_if<MicrophoneSwitch>(&message)) {
        switch_microphone(microphone->on);
        return;
    }
    // Pointer motion has its own budget, so a flood of moves never starves a key press.
    const auto *touch = std::get_if<TouchEvent>(&message);
    const bool motion = std::holds_alternative<PointerPosition>(message) ||
                        std::holds_alternative<PointerMotion>(message) ||
                        std::holds_alternative<WheelEvent>(message) ||
                        (touch && touch->kind == qemu::TouchKind::Update);
    RateLimiter &limit = motion ? motion_limit_ : key_limit_;
    if (!limit.allow()) {
        if (limit.dropped() % 1000 == 1)
            g_warning("viewer %lu: input flood; dropped %lu %s events so far", id_, limit.dropped(),
                      motion ? "pointer" : "key and button");
        return;
    }
    std::visit(
        [this](const auto &event) {
            using Event = std::decay_t<decltype(event)>;
            if constexpr (std::is_same_v<Event, KeyEvent>) {
                g_debug("viewer %lu: key 0x%x %s", id_, event.qnum, event.down ? "down" : "up");
                if (event.down)
                    input_->press_key(event.qnum);
                else
                    input_->release_key(event.qnum);
            } else if constexpr (std::is_same_v<Event, PointerPosition>) {
                input_->move_to(event.x, event.y);
            } else if constexpr (std::is_same_v<Event, PointerMotion>) {
                input_->move_by(event.dx, event.dy);
            } else if constexpr (std::is_same_v<Event, ButtonEvent>) {
                if (event.down)
                    input_->press_button(event.button);
                else
                    input_->release_button(event.button);
            } else if constexpr (std::is_same_v<Event, WheelEvent>) {
                input_->scroll(event.vertical_steps, event.horizontal_steps);
            } else if constexpr (std::is_same_v<Event, ReleaseAll>) {
                // The page let go of what its user holds; a text being typed goes on, so the
                // sequencer's Shift or AltGr stays down until the sequencer lets go of it.
                input_->release_all(sequencer_->held());
            } else if constexpr (std::is_same_v<Event, TouchEvent>) {
                std::string why;
                if (!input_->touch(event.kind, event.slot, event.x, event.y, why))
                    refuse(why);
            } else if constexpr (std::is_same_v<Event, DisplaySize>) {
                g_info("viewer %lu: asks for a %ux%u display", id_, event.width, event.height);
                // The page hears QEMU's answer: the size it took, or why not.
                const std::string taken =
                    "{\"type\":\"display-size\",\"width\":" + std::to_string(event.width) +
                    ",\"height\":" + std::to_string(event.height) + "}";
                input_->request_display_size(
                    event.width, event.height, event.width_mm, event.height_mm,
                    [this, taken, lifeline = lifeline_.handle()](const std::string &why) {
                        lifeline.post([this, taken, why] {
                            if (why.empty())
                                send_text(taken);
                            else
                                refuse(why);
                        });
                    });
            } else if constexpr (std::is_same_v<Event, KeyCombo>) {
                press_combo(event);
            } else if constexpr (std::is_same_v<Event, TypeText>) {
                type_text(event);
            }
        },
        message);
}

void Viewer::switch_microphone(bool on) {
    if (!microphone_) {
        refuse("vmcast takes no microphone here (--web-microphone, a VM with sound)");
        return;
    }
    if (!on) {
        microphone_->release(id_);
        return;
    }
    // Whoever had it hears so, and its page stops sending.
    const bool taken = microphone_->take(id_, [this, lifeline = lifeline_.handle()] {
        lifeline.post([this] {
            send_text(json_message({{"type", "microphone"}, {"state", "taken"}}));
        });
    });
    if (taken)
        g_info("viewer %lu: its microphone goes to the VM", id_);
}

void Viewer::poll_stats() {
    GstPromisePtr promise(gst_promise_new_with_change_func(
        [](GstPromise *promise, gpointer data) {
            auto *callback = static_cast<ViewerCallback *>(data);
            Viewer *viewer = callback->owner;
            const GstStructure *reply = gst_promise_get_reply(promise);
            if (!reply)
                return;
            // Freed also when the viewer is gone and the work dropped.
            std::shared_ptr<GstStructure> copy(gst_structure_copy(reply), gst_structure_free);
            callback->lifeline.post([viewer, copy] { viewer->stats_arrived(copy.get()); });
        },
        thread_callback(this, lifeline_), ViewerCallback::destroy_notify));
    g_signal_emit_by_name(webrtc_, "get-stats", nullptr, promise.get());
}

void Viewer::stats_arrived(const GstStructure *stats) {
    double fraction_lost = -1;
    uint64_t bytes_sent = 0;
    std::pair<double *, uint64_t *> wanted(&fraction_lost, &bytes_sent);
    gst_structure_foreach(
        stats,
        [](GQuark, const GValue *value, gpointer data) -> gboolean {
            if (!GST_VALUE_HOLDS_STRUCTURE(value))
                return TRUE;
            const GstStructure *entry = gst_value_get_structure(value);
            GstWebRTCStatsType type;
            if (!gst_structure_get(entry, "type", GST_TYPE_WEBRTC_STATS_TYPE, &type, nullptr))
                return TRUE;
            auto *out = static_cast<std::pair<double *, uint64_t *> *>(data);
            if (type == GST_WEBRTC_STATS_REMOTE_INBOUND_RTP)
                gst_structure_get_double(entry, "fraction-lost", out->first);
            else if (type == GST_WEBRTC_STATS_OUTBOUND_RTP)
                gst_structure_get_uint64(entry, "bytes-sent", out->second);
            return TRUE;
        },
        &wanted);
    if (fraction_lost < 0)
        return; // no receiver report yet
    const uint32_t estimate =
        next_bitrate_estimate(bitrate_estimate_kbps_, fraction_lost, encoder_.max_bitrate_kbps());
    g_debug("viewer %lu: loss %.3f, sent %lu bytes, estimate %u kbit/s", id_, fraction_lost,
            bytes_sent - last_bytes_sent_, estimate);
    last_bytes_sent_ = bytes_sent;
    if (estimate != bitrate_estimate_kbps_) {
        bitrate_estimate_kbps_ = estimate;
        hooks_.bitrate_estimated(*this);
    }
}

} // namespace vmcast::web
