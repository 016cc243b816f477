// The query of a page address (?vm=NAME&console=N&token=T) as a browser sends it, decoded as
// libsoup's server decodes it for vmcast's handlers, then the token in it checked as the
// handlers check it (http_reply.h's query_value, AccessTokens::check).
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include <libsoup/soup.h>

#include "fixed_tokens.h"
#include "web/access_tokens.h"
#include "web/http_reply.h"

using vmcast::web::Access;
using vmcast::web::AccessTokens;

namespace {

struct HashTableUnref {
    void operator()(GHashTable *table) const { g_hash_table_unref(table); }
};

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static const AccessTokens kTokens = fixed_tokens();
    const std::string query_text(reinterpret_cast<const char *>(data), size);
    std::unique_ptr<GHashTable, HashTableUnref> query(soup_form_decode(query_text.c_str()));
    const char *token = vmcast::web::query_value(query.get(), "token");
    const Access access = token ? kTokens.check(token) : Access::None;
    // Only the exact tokens let anyone in.
    if ((access == Access::Full && kTokens.full() != token) ||
        (access == Access::View && kTokens.view() != token))
        __builtin_trap();
    return 0;
}
