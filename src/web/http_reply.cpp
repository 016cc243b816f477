#include "web/http_reply.h"

#include <cstring>

namespace vmcast::web {

const char *query_value(GHashTable *query, const char *name) {
    return query ? static_cast<const char *>(g_hash_table_lookup(query, name)) : nullptr;
}

void refuse(SoupServerMessage *message, guint status, const char *why) {
    soup_server_message_set_status(message, status, nullptr);
    // Also a refused WebSocket upgrade, which close_connection_after_answer could not tell from
    // one that will be accepted: the browser closes it, and libsoup would keep it.
    soup_message_headers_replace(soup_server_message_get_response_headers(message), "Connection",
                                 "close");
    soup_server_message_set_response(message, "text/plain; charset=utf-8", SOUP_MEMORY_COPY, why,
                                     strlen(why));
}

void set_private_headers(SoupServerMessage *message) {
    SoupMessageHeaders *headers = soup_server_message_get_response_headers(message);
    soup_message_headers_replace(headers, "Referrer-Policy", "no-referrer");
    soup_message_headers_replace(headers, "Cache-Control", "no-store");
    soup_message_headers_replace(headers, "X-Content-Type-Options", "nosniff");
}

void close_connection_after_answer(SoupServer *, SoupServerMessage *message, gpointer) {
    if (soup_message_headers_header_contains(soup_server_message_get_request_headers(message),
                                             "Upgrade", "websocket"))
        return;
    soup_message_headers_replace(soup_server_message_get_response_headers(message), "Connection",
                                 "close");
}

} // namespace vmcast::web
