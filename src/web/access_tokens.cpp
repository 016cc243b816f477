#include "web/access_tokens.h"

#include <sys/random.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

namespace vmcast::web {
namespace {

constexpr size_t kMinTokenLength = 16;
constexpr size_t kMaxTokenLength = 256;
// Two tokens and their newlines; only the first two lines are read.
constexpr size_t kMaxFileLength = 2 * (kMaxTokenLength + 1);

std::string random_token() {
    static constexpr char kAlphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    unsigned char bytes[22]; // 22 characters of 6 bits: 132 bits
    size_t filled = 0;
    while (filled < sizeof(bytes)) {
        const ssize_t got = getrandom(bytes + filled, sizeof(bytes) - filled, 0);
        if (got > 0)
            filled += size_t(got);
        else if (errno != EINTR)
            abort(); // getrandom only fails on kernels older than 3.17
    }
    std::string token;
    for (unsigned char byte : bytes)
        token += kAlphabet[byte & 63];
    return token;
}

// Equal strings in time that depends only on the presented length.
bool same_token(std::string_view presented, const std::string &expected) {
    unsigned char difference = presented.size() != expected.size();
    for (size_t i = 0; i < presented.size(); ++i)
        difference |= uint8_t(presented[i] ^ expected[i % expected.size()]);
    return difference == 0;
}

} // namespace

bool valid_token(std::string_view token) {
    if (token.size() < kMinTokenLength || token.size() > kMaxTokenLength)
        return false;
    for (char c : token) {
        const bool allowed = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                             (c >= '0' && c <= '9') || c == '-' || c == '_';
        if (!allowed)
            return false;
    }
    return true;
}

AccessTokens AccessTokens::generate() {
    return AccessTokens(random_token(), random_token());
}

bool AccessTokens::load(const std::string &path, AccessTokens &tokens, std::string &error) {
    std::ifstream file(path);
    if (!file) {
        error = "cannot read the token file " + path + ": " + strerror(errno);
        return false;
    }
    std::string text(kMaxFileLength + 1, '\0');
    file.read(text.data(), std::streamsize(text.size()));
    text.resize(size_t(file.gcount()));
    return parse(text, path, tokens, error);
}

bool AccessTokens::parse(const std::string &text, const std::string &path, AccessTokens &tokens,
                         std::string &error) {
    std::istringstream lines(text);
    std::string full;
    std::string view;
    std::getline(lines, full);
    std::getline(lines, view);
    if (!valid_token(full)) {
        error = "the token file " + path +
                " must start with a token of 16 to 256 characters "
                "A-Z, a-z, 0-9, - or _";
        return false;
    }
    // Without one, the view-only token tokens has stays (a reload keeps the viewers' address).
    if (view.empty())
        view = tokens.view() != full ? tokens.view() : random_token();
    if (!valid_token(view) || view == full) {
        error = "the second line of " + path +
                " must be a view-only token (16 to 256 "
                "characters A-Z, a-z, 0-9, - or _) that differs from the first";
        return false;
    }
    tokens = AccessTokens(std::move(full), std::move(view));
    return true;
}

Access AccessTokens::check(std::string_view presented) const {
    // Both comparisons always run, so the time does not tell which token came close.
    const bool full = same_token(presented, full_);
    const bool view = same_token(presented, view_);
    if (full)
        return Access::Full;
    return view ? Access::View : Access::None;
}

} // namespace vmcast::web
