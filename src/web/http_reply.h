// Pieces of the page server's HTTP answers that its handlers share.
#pragma once

#include <libsoup/soup.h>

namespace vmcast::web {

// The query's value for name, or nullptr.
const char *query_value(GHashTable *query, const char *name);
// An error status with a one-line text for whoever asked.
void refuse(SoupServerMessage *message, guint status, const char *why);
// For answers to addresses that carry a token (pages, the VM list): neither the address nor the
// answer may reach other sites or caches, and the type given is the one the browser uses.
void set_private_headers(SoupServerMessage *message);
// For the server's "request-read": every answer but the WebSocket handshake closes its
// connection. libsoup 3.2's server never notices a client closing a kept-alive connection while
// it waits for the next request, so each page load left its connections open (CLOSE_WAIT), an
// fd each, for good.
void close_connection_after_answer(SoupServer *, SoupServerMessage *message, gpointer);

} // namespace vmcast::web
