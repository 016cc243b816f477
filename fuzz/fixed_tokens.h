// Tokens the same in every run, for the targets that need a page's tokens: random ones would
// make an input's outcome differ between runs.
#pragma once

#include <string>

#include "web/access_tokens.h"

inline constexpr const char *kFixedFullToken = "FullAccessTokenOfTheRun1";
inline constexpr const char *kFixedViewToken = "ViewOnlyTokenOfTheRun12";

inline vmcast::web::AccessTokens fixed_tokens() {
    vmcast::web::AccessTokens tokens = vmcast::web::AccessTokens::generate();
    std::string error;
    if (!vmcast::web::AccessTokens::parse(std::string(kFixedFullToken) + "\n" + kFixedViewToken,
                                          "fixed", tokens, error))
        __builtin_trap();
    return tokens;
}
