// Who may use the web page: a full-access token (watch and drive the VM) and a view-only token,
// made at random (vmcast keeps them, app/web_tokens.h) or read from a file the user keeps.
#pragma once

#include <string>
#include <string_view>

namespace vmcast::web {

enum class Access { None, View, Full };

class AccessTokens {
  public:
    // Two fresh tokens of 128 random bits each, from the kernel's CSPRNG.
    static AccessTokens generate();
    // A file with the full-access token on its first line and, optionally, a view-only token on
    // the second. Tokens are 16 to 256 characters of [A-Za-z0-9_-] (they travel in URLs). A
    // missing view-only token is the one tokens has (random if that is the full-access token).
    // false and a one-line reason in error otherwise.
    static bool load(const std::string &path, AccessTokens &tokens, std::string &error);
    // The same for a file's text; path names the file in errors.
    static bool parse(const std::string &text, const std::string &path, AccessTokens &tokens,
                      std::string &error);

    // What a presented token allows; compares in constant time.
    Access check(std::string_view presented) const;

    const std::string &full() const { return full_; }
    const std::string &view() const { return view_; }

  private:
    AccessTokens(std::string full, std::string view)
        : full_(std::move(full)), view_(std::move(view)) {}

    std::string full_;
    std::string view_;
};

// Whether a token has the allowed length and characters.
bool valid_token(std::string_view token);

} // namespace vmcast::web
