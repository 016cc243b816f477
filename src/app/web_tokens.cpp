#include "app/web_tokens.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <glib.h>

#include "common/read_all.h"
#include "common/unique_fd.h"

namespace vmcast::app {
namespace {

constexpr const char *kTokensName = "web-tokens";
constexpr size_t kMaxLength = 4096; // far more than two tokens of 256 characters

enum class Kept { Read, Missing, Failed };

std::string errno_text(int error) {
    return strerror(error);
}

// The kept tokens, when the file is there and only vmcast's user may read it.
Kept read_kept(const std::string &path, web::AccessTokens &tokens, std::string &error) {
    UniqueFd fd(open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    if (!fd.valid()) {
        if (errno == ENOENT)
            return Kept::Missing;
        error = "cannot read the page's tokens in " + path + ": " + errno_text(errno);
        return Kept::Failed;
    }
    struct stat info = {};
    if (fstat(fd.get(), &info) != 0 || !S_ISREG(info.st_mode) || info.st_uid != geteuid() ||
        (info.st_mode & 077) != 0) {
        error = path + " must be a file of vmcast's user that only it may read (mode 0600); "
                       "fix it, or remove it for new tokens";
        return Kept::Failed;
    }
    std::string text;
    if (!read_all(fd.get(), kMaxLength, text)) {
        error = "cannot read the page's tokens in " + path + ": " + errno_text(errno);
        return Kept::Failed;
    }
    return web::AccessTokens::parse(text, path, tokens, error) ? Kept::Read : Kept::Failed;
}

bool write_all(int fd, const std::string &text) {
    size_t written = 0;
    while (written < text.size()) {
        const ssize_t done = write(fd, text.data() + written, text.size() - written);
        if (done < 0 && errno == EINTR)
            continue;
        if (done <= 0)
            return false;
        written += size_t(done);
    }
    return true;
}

// New tokens, written whole into a file of their own and linked into place, so a reader never
// sees half a file and a vmcast starting at the same moment keeps its own (link does not
// replace). false with errno set; EEXIST when another vmcast kept its tokens first.
bool keep_new(const std::string &directory, const std::string &path,
              const web::AccessTokens &tokens) {
    std::string temporary = directory + "/." + kTokensName + ".XXXXXX";
    UniqueFd fd(g_mkstemp_full(temporary.data(), O_RDWR | O_CLOEXEC, 0600));
    if (!fd.valid())
        return false;
    const bool written = write_all(fd.get(), tokens.full() + "\n" + tokens.view() + "\n") &&
                         fsync(fd.get()) == 0 && link(temporary.c_str(), path.c_str()) == 0;
    const int saved = errno;
    unlink(temporary.c_str());
    errno = saved;
    return written;
}

} // namespace

std::string state_directory() {
    // systemd sets a colon-separated list when a unit names several; vmcast's is the first.
    if (const char *systemd = g_getenv("STATE_DIRECTORY"); systemd && *systemd) {
        const std::string list = systemd;
        return list.substr(0, list.find(':'));
    }
    if (const char *state = g_getenv("XDG_STATE_HOME"); state && g_path_is_absolute(state))
        return std::string(state) + "/vmcast";
    return std::string(g_get_home_dir()) + "/.local/state/vmcast";
}

bool load_web_tokens(const Options &options, web::AccessTokens &tokens, std::string &error) {
    if (!options.web_token_file.empty())
        return web::AccessTokens::load(options.web_token_file, tokens, error);
    const std::string directory = state_directory();
    if (g_mkdir_with_parents(directory.c_str(), 0700) != 0) {
        error = "cannot make the state directory " + directory + ": " + errno_text(errno);
        return false;
    }
    const std::string path = directory + "/" + kTokensName;
    // Twice at most: when another vmcast kept its tokens between the look and the link, the
    // second look reads them.
    for (int attempt = 0; attempt < 2; attempt++) {
        switch (read_kept(path, tokens, error)) {
        case Kept::Read:
            return true;
        case Kept::Failed:
            return false;
        case Kept::Missing:
            break;
        }
        web::AccessTokens fresh = web::AccessTokens::generate();
        if (keep_new(directory, path, fresh)) {
            g_message("new page tokens kept in %s", path.c_str());
            tokens = std::move(fresh);
            return true;
        }
        if (errno != EEXIST) {
            error = "cannot keep the page's tokens in " + path + ": " + errno_text(errno);
            return false;
        }
    }
    error = "cannot keep the page's tokens in " + path + ": it keeps changing";
    return false;
}

} // namespace vmcast::app
