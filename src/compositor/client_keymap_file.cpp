#include "compositor/client_keymap_file.h"

#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <cerrno>

#include <glib.h>

#include "common/glib_ptr.h"

namespace vmcast::compositor {
namespace {

// A full evdev keymap is about 60 KiB; wtype's are a few KiB.
constexpr uint32_t kMaxKeymapBytes = 1024 * 1024;

// ZFS's magic number is not in linux/magic.h (zfs_vfsops.h: ZFS_SUPER_MAGIC).
constexpr uint32_t kZfsSuperMagic = 0x2fc12fc1;

// Filesystems whose reads the kernel answers from memory or a local block device. Overlayfs is
// what /tmp is in most containers (wtype writes its keymap there); its layers are local disks.
bool reads_cannot_block(uint32_t type) {
    switch (type) {
    case TMPFS_MAGIC:
    case RAMFS_MAGIC:
    case HUGETLBFS_MAGIC:
    case EXT4_SUPER_MAGIC: // also ext2 and ext3
    case XFS_SUPER_MAGIC:
    case BTRFS_SUPER_MAGIC:
    case F2FS_SUPER_MAGIC:
    case OVERLAYFS_SUPER_MAGIC:
    case kZfsSuperMagic:
        return true;
    default:
        return false;
    }
}

} // namespace

std::optional<std::string> read_client_keymap_file(int fd, uint32_t size, std::string &error) {
    struct stat info = {};
    if (fstat(fd, &info) != 0 || !S_ISREG(info.st_mode)) {
        error = "its keymap is not a file";
        return std::nullopt;
    }
    struct statfs filesystem = {};
    if (fstatfs(fd, &filesystem) != 0) {
        error = std::string("its keymap's filesystem is unknown: ") + g_strerror(errno);
        return std::nullopt;
    }
    const auto type = uint32_t(filesystem.f_type);
    if (!reads_cannot_block(type)) {
        GCharPtr hex(g_strdup_printf("0x%x", type));
        error = std::string("its keymap is on a filesystem (type ") + hex.get() +
                ") whose reads could block: only memfds, tmpfs and local disks are read";
        return std::nullopt;
    }
    if (size == 0 || size > kMaxKeymapBytes) {
        error = "its keymap's size " + std::to_string(size) + " is not 1 to " +
                std::to_string(kMaxKeymapBytes) + " bytes";
        return std::nullopt;
    }
    std::string text(size, '\0');
    size_t done = 0;
    while (done < size) {
        const ssize_t got = pread(fd, text.data() + done, size - done, off_t(done));
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0) {
            error = "its keymap cannot be read whole";
            return std::nullopt;
        }
        done += size_t(got);
    }
    return text;
}

} // namespace vmcast::compositor
