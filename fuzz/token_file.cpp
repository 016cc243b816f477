// The page's token file (--web-token-file, or the one vmcast keeps in its state directory): its
// text through the parser both readers call. Tokens it accepts must then each give their access.
#include <cstddef>
#include <cstdint>
#include <string>

#include "fixed_tokens.h"
#include "web/access_tokens.h"

using vmcast::web::Access;
using vmcast::web::AccessTokens;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    // The tokens before a reload: a file without a view-only token keeps that one.
    static const AccessTokens kPrevious = fixed_tokens();
    const std::string text(reinterpret_cast<const char *>(data), size);
    AccessTokens tokens = kPrevious;
    std::string error;
    if (!AccessTokens::parse(text, "fuzz-tokens", tokens, error))
        return 0;
    if (tokens.check(tokens.full()) != Access::Full || tokens.check(tokens.view()) != Access::View)
        __builtin_trap();
    return 0;
}
