// The publisher's HTTP answers other than the WebSocket: the pages' files and the list of VMs.
#include "web/web_publisher.h"

#include <algorithm>
#include <array>
#include <cstring>

#include "web/http_reply.h"

namespace vmcast::web {
namespace {

constexpr const char *kResourcePrefix = "/org/vmcast/web";
constexpr std::array<std::string_view, 13> kFiles = {
    "/index.html", "/list.html",   "/vmcast.js",    "/clipboard.js", "/view.js",
    "/touch.js",   "/toolbar.js",  "/audio.js",     "/vmcast.css",   "/console_nav.js",
    "/vm_list.js", "/vm_list.css", "/microphone.js"};

const char *content_type_of(std::string_view path) {
    if (path.ends_with(".js"))
        return "text/javascript; charset=utf-8";
    if (path.ends_with(".css"))
        return "text/css; charset=utf-8";
    return "text/html; charset=utf-8";
}

bool is_get(SoupServerMessage *message) {
    const char *method = soup_server_message_get_method(message);
    if (strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0)
        return true;
    refuse(message, SOUP_STATUS_METHOD_NOT_ALLOWED, "GET only\n");
    return false;
}

} // namespace

Access WebPublisher::access_of(GHashTable *query) const {
    const char *token = query_value(query, "token");
    return token ? options_.tokens.check(token) : Access::None;
}

std::string WebPublisher::list_url(Access access) const {
    return server_url() +
           "/?token=" + (access == Access::Full ? options_.tokens.full() : options_.tokens.view());
}

std::vector<ListedVm> WebPublisher::listed_vms() const {
    std::vector<ListedVm> vms;
    for (const auto &[name, vm] : vms_) {
        ListedVm &listed = vms.emplace_back(ListedVm{name, true, {}});
        for (const auto &console : vm->consoles)
            listed.consoles.push_back(
                ListedConsole{console->console.index, console->console.label});
    }
    stopped_.list_into(vms);
    return vms;
}

void WebPublisher::on_page_request(SoupServer *, SoupServerMessage *message, const char *path,
                                   GHashTable *query, gpointer data) {
    if (!is_get(message))
        return;
    std::string_view name = path;
    if (name == "/") {
        const char *vm = query_value(query, "vm");
        name = vm && *vm ? "/index.html" : "/list.html";
    }
    if (std::find(kFiles.begin(), kFiles.end(), name) == kFiles.end()) {
        refuse(message, SOUP_STATUS_NOT_FOUND, "not found\n");
        return;
    }
    const std::string resource = std::string(kResourcePrefix) + std::string(name);
    GBytesPtr bytes(
        g_resources_lookup_data(resource.c_str(), G_RESOURCE_LOOKUP_FLAGS_NONE, nullptr));
    if (!bytes) {
        refuse(message, SOUP_STATUS_INTERNAL_SERVER_ERROR, "page missing from the build\n");
        return;
    }
    // The token travels in the page's URL.
    set_private_headers(message);
    soup_message_headers_replace(soup_server_message_get_response_headers(message),
                                 "Content-Security-Policy",
                                 "default-src 'self'; connect-src 'self'; img-src 'self' data:; "
                                 "frame-ancestors 'none'");
    // A page holds nothing about the VMs: one opened with a wrong or missing token still comes,
    // to tell the user why it shows nothing, but its status says it is refused.
    const bool refused = name.ends_with(".html") &&
                         static_cast<WebPublisher *>(data)->access_of(query) == Access::None;
    soup_server_message_set_status(message, refused ? SOUP_STATUS_FORBIDDEN : SOUP_STATUS_OK,
                                   nullptr);
    soup_server_message_set_response(
        message, content_type_of(name), SOUP_MEMORY_COPY,
        static_cast<const char *>(g_bytes_get_data(bytes.get(), nullptr)),
        g_bytes_get_size(bytes.get()));
}

void WebPublisher::on_screenshot_request(SoupServer *, SoupServerMessage *message, const char *,
                                         GHashTable *query, gpointer data) {
    auto *self = static_cast<WebPublisher *>(data);
    if (!is_get(message))
        return;
    ConsoleState *console = nullptr;
    if (self->admit(message, query, console) == Access::None)
        return;
    if (!console->encoder || !console->encoder->reading()) {
        refuse(message, SOUP_STATUS_CONFLICT,
               "no page watches this console: a screenshot is taken from a watched stream\n");
        return;
    }
    console->screenshots.answer_with_next_picture(
        message, *console->encoder, console->console.request_picture,
        screenshot_file_name(console->vm->name, console->console.index));
}

void WebPublisher::on_list_request(SoupServer *, SoupServerMessage *message, const char *,
                                   GHashTable *query, gpointer data) {
    const auto *self = static_cast<const WebPublisher *>(data);
    if (!is_get(message))
        return;
    set_private_headers(message);
    // Other sites' pages cannot read this answer (it allows no cross-origin reads), so the token
    // alone decides, where the WebSocket also checks the Origin.
    if (self->access_of(query) == Access::None) {
        g_warning("web: refused the VM list to %s: wrong or missing token",
                  soup_server_message_get_remote_host(message));
        refuse(message, SOUP_STATUS_FORBIDDEN, "wrong or missing token\n");
        return;
    }
    const std::string json = vm_list_json(self->listed_vms());
    soup_server_message_set_status(message, SOUP_STATUS_OK, nullptr);
    soup_server_message_set_response(message, "application/json", SOUP_MEMORY_COPY, json.data(),
                                     json.size());
}

} // namespace vmcast::web
