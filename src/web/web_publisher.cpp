#include "web/web_publisher.h"

#include <json-glib/json-glib.h>

#include <algorithm>
#include <charconv>

#include "web/http_reply.h"
#include "web/messages.h"

namespace vmcast::web {
namespace {

constexpr uint16_t kDefaultPort = 8081;

// What the handler before the WebSocket handshake admitted, kept on the request for the
// handler after it.
constexpr const char *kAdmissionKey = "vmcast-admission";

// Whether a browser's Origin names the host the page was loaded from: pages of other sites
// must not open vmcast's WebSocket with a token they learnt.
bool same_origin(const char *origin, const char *host) {
    if (!origin)
        return true; // not a browser; the token decides
    if (!host)
        return false;
    const std::string_view presented(origin);
    return presented == std::string("http://") + host ||
           presented == std::string("https://") + host;
}

std::string clipboard_json(const std::string &text) {
    return json_message({{"type", "clipboard"}, {"text", text}});
}

// Why the picture stopped, for the page to show; empty once it goes on.
std::string notice_json(const std::string &text) {
    return json_message({{"type", "notice"}, {"text", text}});
}

// The guest's keyboard LEDs, qemu::keyboard_led bits.
std::string leds_json(uint32_t leds) {
    return json_message({{"type", "leds"}}, "leds", leds);
}

} // namespace

bool parse_listen_address(const std::string &text, std::string &host, uint16_t &port,
                          std::string &error) {
    std::string port_text;
    if (text.starts_with('[')) {
        const size_t close = text.find(']');
        if (close == std::string::npos) {
            error = "an IPv6 address needs its closing ]";
            return false;
        }
        host = text.substr(1, close - 1);
        if (close + 1 < text.size()) {
            if (text[close + 1] != ':') {
                error = "expected :PORT after ]";
                return false;
            }
            port_text = text.substr(close + 2);
        }
    } else {
        const size_t colon = text.rfind(':');
        host = colon == std::string::npos ? text : text.substr(0, colon);
        if (colon != std::string::npos)
            port_text = text.substr(colon + 1);
    }
    if (host.empty())
        host = "127.0.0.1";
    port = kDefaultPort;
    if (!port_text.empty()) {
        unsigned value = 0;
        const auto [end, result] =
            std::from_chars(port_text.data(), port_text.data() + port_text.size(), value);
        if (result != std::errc() || end != port_text.data() + port_text.size() || value == 0 ||
            value > 65535) {
            error = "the port must be a number from 1 to 65535";
            return false;
        }
        port = uint16_t(value);
    }
    GObjectPtr<GInetAddress> address(g_inet_address_new_from_string(host.c_str()));
    if (!address) {
        error = "'" + host + "' is not an IP address";
        return false;
    }
    return true;
}

WebPublisher::WebPublisher(WebOptions options, pipewire::PipeWireContext &pipewire)
    : options_(std::move(options)), pipewire_(pipewire) {}

WebPublisher::~WebPublisher() {
    // Viewers detach from their encoders, so they go first.
    for (auto &[name, vm] : vms_)
        for (auto &console : vm->consoles)
            console->viewers.clear();
    // Screenshots still waiting are answered while the server is there to send the answer.
    vms_.clear();
    if (server_)
        soup_server_disconnect(server_.get());
}

void WebPublisher::add_vm(WebVm added) {
    stopped_.remove(added.name);
    auto vm = std::make_unique<VmState>();
    vm->name = added.name;
    VmState *state = vm.get();
    for (WebConsole &console : added.consoles) {
        auto console_state = std::make_unique<ConsoleState>();
        console_state->vm = state;
        console_state->console = std::move(console);
        ConsoleState *watched = console_state.get();
        console_state->mouse_mode_watch = watched->console.input->watch_mouse_mode(
            [this, watched](bool absolute) { send_mouse_mode(*watched, absolute); });
        console_state->led_watch = watched->console.input->watch_keyboard_leds(
            [this, watched](uint32_t leds) { send_keyboard_leds(*watched, leds); });
        vm->consoles.push_back(std::move(console_state));
    }
    vm->clipboard = std::make_unique<qemu::ClipboardPeer>(
        added.bus, added.bus_name,
        qemu::ClipboardPeer::Hooks{.guest_copied = [this, state](const std::string &text) {
            send_guest_clipboard(*state, text);
        }});
    vm->clipboard->start();
    vms_[added.name] = std::move(vm);
}

void WebPublisher::remove_vm(const std::string &name, const std::string &reason) {
    auto found = vms_.find(name);
    if (found == vms_.end())
        return;
    for (auto &console : found->second->consoles) {
        close_all_of(*console, reason);
        // Each page still gets its goodbye: a closing connection keeps itself until it closes.
        console->viewers.clear();
    }
    std::vector<ListedConsole> consoles;
    for (const auto &console : found->second->consoles)
        consoles.push_back(ListedConsole{console->console.index, console->console.label});
    stopped_.add(name, std::move(consoles));
    vms_.erase(found);
}

bool WebPublisher::start(std::string &error) {
    if (!parse_listen_address(options_.listen, host_, port_, error)) {
        error = "web address " + options_.listen + ": " + error;
        return false;
    }
    inet_address_.reset(g_inet_address_new_from_string(host_.c_str()));
    // ICE may use only the served address; with every interface served, any of them.
    ice_address_ = g_inet_address_get_is_any(inet_address_.get()) ? "" : host_;
    gst_init(nullptr, nullptr);
    codec_ = options_.codec.value_or(preferred_codec());
    // The default layout is compiled before serving, not by the first text typed (tens of ms of
    // the main loop then, while pictures stream).
    std::string layout_error;
    if (!typing_layouts_.get(kTypingLayouts[0], layout_error))
        g_warning("web: cannot compile the \"%s\" typing layout: %s", kTypingLayouts[0],
                  layout_error.c_str());
    server_.reset(soup_server_new("server-header", "vmcast", nullptr));
    g_signal_connect(server_.get(), "request-read", G_CALLBACK(close_connection_after_answer),
                     nullptr);
    soup_server_add_handler(server_.get(), "/", on_page_request, this, nullptr);
    soup_server_add_handler(server_.get(), "/vms", on_list_request, this, nullptr);
    soup_server_add_handler(server_.get(), "/ws", on_socket_request, this, nullptr);
    soup_server_add_handler(server_.get(), "/screenshot", on_screenshot_request, this, nullptr);
    soup_server_add_websocket_handler(server_.get(), "/ws", nullptr, nullptr, on_socket_open, this,
                                      nullptr);
    GObjectPtr<GSocketAddress> address(g_inet_socket_address_new(inet_address_.get(), port_));
    GError *raw_error = nullptr;
    if (!soup_server_listen(server_.get(), address.get(), SoupServerListenOptions(0), &raw_error)) {
        GErrorPtr listen_error(raw_error);
        error = "cannot serve the web page on " + options_.listen + ": " + listen_error->message;
        return false;
    }
    if (g_inet_address_get_is_loopback(inet_address_.get()))
        g_message("web page on loopback only (this machine); --web 0.0.0.0:%u serves other "
                  "machines too",
                  port_);
    else
        g_message("web page on %s port %u: anyone who can reach it and has the token can use "
                  "the VM; put it behind TLS (a reverse proxy) beyond a trusted network",
                  host_.c_str(), port_);
    return true;
}

std::string WebPublisher::server_url() const {
    std::string host = host_;
    if (g_inet_address_get_is_any(inet_address_.get()))
        host = g_inet_address_get_family(inet_address_.get()) == G_SOCKET_FAMILY_IPV6 ? "::1"
                                                                                      : "127.0.0.1";
    if (host.find(':') != std::string::npos)
        host = "[" + host + "]";
    return "http://" + host + ":" + std::to_string(port_);
}

std::string WebPublisher::url(Access access, const std::string &vm_name) const {
    const std::string &token =
        access == Access::Full ? options_.tokens.full() : options_.tokens.view();
    GCharPtr vm(g_uri_escape_string(vm_name.c_str(), nullptr, FALSE));
    return server_url() + "/?vm=" + vm.get() + "&token=" + token;
}

void WebPublisher::close_all(const std::string &reason) {
    for (auto &[name, vm] : vms_)
        for (auto &console : vm->consoles)
            close_all_of(*console, reason);
}

void WebPublisher::set_tokens(AccessTokens tokens) {
    const bool full_changed = tokens.full() != options_.tokens.full();
    const bool view_changed = tokens.view() != options_.tokens.view();
    options_.tokens = std::move(tokens);
    for (auto &[name, vm] : vms_)
        for (auto &console : vm->consoles)
            for (auto &[id, viewer] : console->viewers)
                if (viewer->full_access() ? full_changed : view_changed)
                    viewer->close("the page's access token changed");
}

void WebPublisher::set_bitrate(uint32_t kbps) {
    options_.bitrate_kbps = kbps;
    for (auto &[name, vm] : vms_)
        for (auto &console : vm->consoles)
            if (console->encoder)
                adapt_bitrate(*console);
}

void WebPublisher::close_all_of(ConsoleState &console, const std::string &reason) {
    for (auto &[id, viewer] : console.viewers)
        viewer->close(reason);
}

WebPublisher::ConsoleState *WebPublisher::console_of(const std::string &vm, uint32_t index) {
    auto found = vms_.find(vm);
    if (found == vms_.end())
        return nullptr;
    for (auto &console : found->second->consoles)
        if (console->console.index == index)
            return console.get();
    return nullptr;
}

WebPublisher::ConsoleState *WebPublisher::find_console(GHashTable *query, guint &status,
                                                       std::string &why) {
    const char *vm_name = query_value(query, "vm");
    const char *index = query_value(query, "console");
    VmState *vm = nullptr;
    if (vm_name && *vm_name) {
        auto found = vms_.find(vm_name);
        if (found == vms_.end()) {
            // Addresses stay valid while their VM is away: the page waits for it.
            status = SOUP_STATUS_SERVICE_UNAVAILABLE;
            why = std::string("the VM '") + vm_name + "' is not running; waiting for it";
            return nullptr;
        }
        vm = found->second.get();
    } else if (vms_.size() == 1) {
        vm = vms_.begin()->second.get();
    } else {
        status = vms_.empty() ? SOUP_STATUS_SERVICE_UNAVAILABLE : SOUP_STATUS_NOT_FOUND;
        why = vms_.empty() ? "no VM is running; waiting for one" : "several VMs: add ?vm=NAME";
        return nullptr;
    }
    if (!index || !*index)
        return vm->consoles.empty() ? nullptr : vm->consoles.front().get();
    for (auto &console : vm->consoles)
        if (std::to_string(console->console.index) == index)
            return console.get();
    status = SOUP_STATUS_NOT_FOUND;
    why = "no such console";
    return nullptr;
}

Access WebPublisher::admit(SoupServerMessage *message, GHashTable *query, ConsoleState *&console) {
    SoupMessageHeaders *headers = soup_server_message_get_request_headers(message);
    const char *origin = soup_message_headers_get_one(headers, "Origin");
    const char *host = soup_message_headers_get_one(headers, "Host");
    const Access access = access_of(query);
    const char *peer = soup_server_message_get_remote_host(message);
    if (!same_origin(origin, host)) {
        g_warning("web: refused a request from %s: Origin %s is not this page's", peer, origin);
        refuse(message, SOUP_STATUS_FORBIDDEN, "cross-origin request refused\n");
        return Access::None;
    }
    if (access == Access::None) {
        g_warning("web: refused a request from %s: wrong or missing token", peer);
        refuse(message, SOUP_STATUS_FORBIDDEN, "wrong or missing token\n");
        return Access::None;
    }
    guint status = SOUP_STATUS_NOT_FOUND;
    std::string why = "no such console";
    console = find_console(query, status, why);
    if (!console) {
        refuse(message, status, (why + "\n").c_str());
        return Access::None;
    }
    return access;
}

void WebPublisher::on_socket_request(SoupServer *, SoupServerMessage *message, const char *,
                                     GHashTable *query, gpointer data) {
    // Runs before the WebSocket handshake: a refusal here is an HTTP 403 the handshake never
    // gets past.
    auto admission = std::make_unique<Admission>();
    ConsoleState *console = nullptr;
    admission->access = static_cast<WebPublisher *>(data)->admit(message, query, console);
    if (admission->access == Access::None)
        return;
    admission->vm = console->vm->name;
    admission->console = console->console.index;
    SoupMessageHeaders *headers = soup_server_message_get_request_headers(message);
    if (!soup_message_headers_header_contains(headers, "Upgrade", "websocket")) {
        // The page asks this way first, to learn why a WebSocket would be refused.
        soup_server_message_set_status(message, SOUP_STATUS_NO_CONTENT, nullptr);
        return;
    }
    g_object_set_data_full(G_OBJECT(message), kAdmissionKey, admission.release(),
                           [](gpointer admitted) { delete static_cast<Admission *>(admitted); });
}

void WebPublisher::on_socket_open(SoupServer *, SoupServerMessage *message, const char *,
                                  SoupWebsocketConnection *socket, gpointer data) {
    auto *self = static_cast<WebPublisher *>(data);
    const auto *admission =
        static_cast<const Admission *>(g_object_get_data(G_OBJECT(message), kAdmissionKey));
    if (!admission) { // libsoup skipped the handler before the handshake: admit nobody
        soup_websocket_connection_close(socket, SOUP_WEBSOCKET_CLOSE_POLICY_VIOLATION, nullptr);
        return;
    }
    const Access access = admission->access;
    ConsoleState *console = self->console_of(admission->vm, admission->console);
    if (!console) { // its VM went away during the handshake
        soup_websocket_connection_close(socket, SOUP_WEBSOCKET_CLOSE_GOING_AWAY, nullptr);
        return;
    }
    GObjectPtr<SoupWebsocketConnection> owned(SOUP_WEBSOCKET_CONNECTION(g_object_ref(socket)));
    std::string error;
    if (!self->ensure_encoder(*console, error)) {
        g_warning("web: %s", error.c_str());
        soup_websocket_connection_close(socket, SOUP_WEBSOCKET_CLOSE_SERVER_ERROR,
                                        error.substr(0, 120).c_str());
        return;
    }
    const uint64_t id = self->next_viewer_id_++;
    std::unique_ptr<qemu::InputClient> input;
    if (access == Access::Full)
        input = console->console.input->new_client("web viewer " + std::to_string(id));
    Viewer::Hooks hooks{
        .closed = [self, console](Viewer &viewer) { self->viewer_closed(*console, viewer); },
        .picture_needed = console->console.request_picture,
        .bitrate_estimated = [self, console](Viewer &) { self->adapt_bitrate(*console); },
        .clipboard_copied =
            [console](std::string text, std::string &why) {
                return console->vm->clipboard->offer(std::move(text), why);
            },
        .layout_keys = [self](const std::string &layout,
                              std::string &why) { return self->typing_layouts_.get(layout, why); },
        .keyboard_leds = [console] { return console->console.input->keyboard_leds(); },
    };
    GSocket *tcp_socket = soup_server_message_get_socket(message);
    auto viewer = std::make_unique<Viewer>(
        id, std::move(owned),
        GObjectPtr<GSocket>(tcp_socket ? G_SOCKET(g_object_ref(tcp_socket)) : nullptr),
        *console->encoder, std::move(input),
        access == Access::Full ? console->console.microphone : nullptr, self->ice_address_,
        std::move(hooks));
    Viewer &started = *viewer;
    console->viewers.emplace(id, std::move(viewer));
    g_info("web: viewer %lu (%s) from %s watches console %u", id,
           access == Access::Full ? "full access" : "view only",
           soup_server_message_get_remote_host(message), console->console.index);
    started.start(self->hello_json(*console, access));
    started.send_text(leds_json(console->console.input->keyboard_leds()));
    if (!console->encoder->notice().empty())
        started.send_text(notice_json(console->encoder->notice()));
    const qemu::ClipboardPeer &clipboard = *console->vm->clipboard;
    if (started.full_access() && clipboard.guest_text())
        started.send_text(clipboard_json(*clipboard.guest_text()));
}

void WebPublisher::send_guest_clipboard(VmState &vm, const std::string &text) {
    const std::string message = clipboard_json(text);
    for (auto &console : vm.consoles)
        for (auto &[id, viewer] : console->viewers)
            if (viewer->full_access())
                viewer->send_text(message);
}

bool WebPublisher::ensure_encoder(ConsoleState &console, std::string &error) {
    if (console.encoder)
        return true;
    console.encoder = ConsoleEncoder::create(pipewire_, console.console.node_name, codec_,
                                             options_.bitrate_kbps, console.console.audio, error);
    if (!console.encoder)
        return false;
    console.encoder->set_failure_callback([this, &console](const std::string &reason) {
        close_all_of(console, "the video encoder failed: " + reason);
    });
    console.encoder->set_settled_callback(console.console.request_picture);
    console.encoder->set_notice_callback([&console](const std::string &text) {
        const std::string message = notice_json(text);
        for (auto &[id, viewer] : console.viewers)
            viewer->send_text(message);
    });
    return true;
}

void WebPublisher::viewer_closed(ConsoleState &console, Viewer &viewer) {
    g_info("web: viewer %lu left", viewer.id());
    console.viewers.erase(viewer.id());
    if (!console.viewers.empty())
        adapt_bitrate(console);
}

void WebPublisher::adapt_bitrate(ConsoleState &console) {
    uint32_t kbps = options_.bitrate_kbps;
    for (const auto &[id, viewer] : console.viewers)
        kbps = std::min(kbps, viewer->bitrate_estimate_kbps());
    console.encoder->set_bitrate(kbps);
}

void WebPublisher::send_mouse_mode(ConsoleState &console, bool absolute) {
    const std::string text =
        std::string("{\"type\":\"mouse\",\"absolute\":") + (absolute ? "true" : "false") + "}";
    for (auto &[id, viewer] : console.viewers)
        viewer->send_text(text);
}

void WebPublisher::send_keyboard_leds(ConsoleState &console, uint32_t leds) {
    const std::string text = leds_json(leds);
    for (auto &[id, viewer] : console.viewers)
        viewer->send_text(text);
}

std::string WebPublisher::hello_json(const ConsoleState &console, Access access) const {
    GObjectPtr<JsonBuilder> builder(json_builder_new());
    JsonBuilder *b = builder.get();
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "type");
    json_builder_add_string_value(b, "hello");
    json_builder_set_member_name(b, "vm");
    json_builder_add_string_value(b, console.vm->name.c_str());
    json_builder_set_member_name(b, "access");
    json_builder_add_string_value(b, access == Access::Full ? "full" : "view");
    json_builder_set_member_name(b, "console");
    json_builder_add_int_value(b, console.console.index);
    json_builder_set_member_name(b, "codec");
    json_builder_add_string_value(b, codec_name(codec_));
    json_builder_set_member_name(b, "absolute");
    json_builder_add_boolean_value(b, console.console.input->mouse_is_absolute());
    json_builder_set_member_name(b, "multitouch");
    json_builder_add_boolean_value(b, console.console.input->has_multitouch());
    json_builder_set_member_name(b, "microphone");
    json_builder_add_boolean_value(b, access == Access::Full && console.console.microphone);
    json_builder_set_member_name(b, "consoles");
    json_builder_begin_array(b);
    for (const auto &other : console.vm->consoles) {
        json_builder_begin_object(b);
        json_builder_set_member_name(b, "index");
        json_builder_add_int_value(b, other->console.index);
        json_builder_set_member_name(b, "label");
        json_builder_add_string_value(b, other->console.label.c_str());
        json_builder_end_object(b);
    }
    json_builder_end_array(b);
    json_builder_end_object(b);
    return json_text(b);
}

} // namespace vmcast::web
