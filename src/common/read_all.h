// Reads what a file descriptor holds, up to a limit, through EINTR and short reads.
#pragma once

#include <unistd.h>

#include <cerrno>
#include <string>

namespace vmcast {

// text: at most max bytes, fewer when the file ends first. false with errno set on a read error.
inline bool read_all(int fd, size_t max, std::string &text) {
    text.assign(max, '\0');
    size_t length = 0;
    while (length < text.size()) {
        const ssize_t got = read(fd, text.data() + length, text.size() - length);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0)
            return false;
        if (got == 0)
            break;
        length += size_t(got);
    }
    text.resize(length);
    return true;
}

} // namespace vmcast
