// The page's access tokens for `vmcast run --web`: the --web-token-file's, or else the ones vmcast
// keeps in its state directory (made at the first start), so the page's addresses stay the same
// across restarts.
#pragma once

#include <string>

#include "app/options.h"
#include "web/access_tokens.h"

namespace vmcast::app {

// false and a one-line error naming the file when it cannot be read or kept, or is wrong (its
// content, or, for the kept one, readable by others or not vmcast's).
bool load_web_tokens(const Options &options, web::AccessTokens &tokens, std::string &error);

// $STATE_DIRECTORY (systemd's StateDirectory=), else $XDG_STATE_HOME/vmcast, else
// ~/.local/state/vmcast.
std::string state_directory();

} // namespace vmcast::app
