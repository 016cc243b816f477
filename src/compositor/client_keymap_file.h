// Reading a Wayland client's keymap fd on the main loop without blocking it or dying on it.
// A file on FUSE or NFS can take as long as its server likes to answer a read, and a pipe or
// FIFO as long as its writer likes; a mapping read past the file's end (the client may shrink
// it) kills the reader with SIGBUS. So only a regular file on a filesystem that the kernel
// serves from memory or a local disk is taken, and it is read with pread, never mapped:
// - memory: tmpfs, ramfs, hugetlbfs (memfd_create's files live there; wayvnc 0.5 sends one);
// - local disk: ext2/3/4, XFS, Btrfs (wtype 0.4 writes its keymap to /tmp/wtype-XXXXXX).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace vmcast::compositor {

// The size bytes of fd, or nullopt and a one-line reason in error.
std::optional<std::string> read_client_keymap_file(int fd, uint32_t size, std::string &error);

} // namespace vmcast::compositor
