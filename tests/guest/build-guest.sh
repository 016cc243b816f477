#!/bin/sh
# Build the vmcast test guest: OUTDIR/vmlinuz (the host's newest Debian kernel) and
# OUTDIR/initrd.img (gzip'd newc cpio: static busybox + tests/guest/init + a test pattern + the
# kernel's USB HID modules).
# Also writes OUTDIR/pattern.ppm, the picture `vmcast.mode=pattern` draws, for pixel comparisons.
#
# Needs: linux-image-amd64 (/boot/vmlinuz-* and /lib/modules), busybox-static (/bin/busybox),
# kmod (modprobe), cpio, gzip, python3.
# Does not need root: no device nodes are created (init mounts devtmpfs itself).
set -eu

if [ $# -ne 1 ]; then
    echo "usage: $0 OUTDIR" >&2
    exit 2
fi
outdir=$1
srcdir=$(cd "$(dirname "$0")" && pwd)
python=${PYTHON:-/usr/bin/python3}
[ -x "$python" ] || python=python3

busybox=/bin/busybox   # from busybox-static: the initrd has no libc, so it must be the static one
if ! [ -x "$busybox" ]; then
    echo "build-guest.sh: $busybox missing (install busybox-static)" >&2
    exit 1
fi

kernel=$(ls /boot/vmlinuz-* 2>/dev/null | sort -V | tail -n 1 || true)
if [ -z "$kernel" ]; then
    echo "build-guest.sh: no /boot/vmlinuz-* (install linux-image-amd64)" >&2
    exit 1
fi
if ! [ -r "$kernel" ]; then
    echo "build-guest.sh: $kernel is not readable (run once as root or chmod a+r it)" >&2
    exit 1
fi

mkdir -p "$outdir"
work=$(mktemp -d "${TMPDIR:-/tmp}/vmcast-guest.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM

root=$work/root
mkdir -p "$root/bin" "$root/dev" "$root/proc" "$root/sys" "$root/tmp" "$root/root"
cp "$busybox" "$root/bin/busybox"
chmod 0755 "$root/bin/busybox"
# Every applet as a symlink, so the interactive shell mode has a usable toolbox.
for applet in $("$root/bin/busybox" --list); do
    case "$applet" in busybox) continue ;; esac
    ln -sf busybox "$root/bin/$applet"
done
ln -sf bin "$root/sbin"
install -m 0755 "$srcdir/init" "$root/init"

# vmcast.mode=input needs a USB tablet, and Debian builds xHCI, USB HID and evdev as modules:
# copy those of the copied kernel, dependencies first, with the order init loads them in.
kernel_version=${kernel##*/vmlinuz-}
modprobe=$(command -v modprobe || echo /sbin/modprobe)
mkdir -p "$root/lib/modules"
if [ -r "/lib/modules/$kernel_version/modules.dep" ]; then
    for module in xhci-pci usbhid hid-generic evdev; do
        "$modprobe" -S "$kernel_version" --show-depends "$module"
    done | awk '$1 == "insmod" && !seen[$2]++ { print $2 }' >"$work/module-files"
    while read -r file; do
        name=$(basename "$file")
        name=${name%%.ko*}
        case "$file" in   # busybox insmod takes plain .ko files only
            *.ko) cp "$file" "$root/lib/modules/$name.ko" ;;
            *.ko.xz) xz -dc "$file" >"$root/lib/modules/$name.ko" ;;
            *.ko.zst) zstd -dcq "$file" >"$root/lib/modules/$name.ko" ;;
            *.ko.gz) gzip -dc "$file" >"$root/lib/modules/$name.ko" ;;
            *) echo "build-guest.sh: cannot unpack module $file" >&2; exit 1 ;;
        esac
        echo "$name" >>"$root/lib/modules/load-order"
    done <"$work/module-files"
else
    echo "build-guest.sh: warning: no /lib/modules/$kernel_version: vmcast.mode=input will" \
        "have no USB tablet" >&2
fi

"$python" "$srcdir/make-pattern.py" "$root/pattern.fb" "$work/pattern.ppm"

# Owner 0:0 in the archive whoever builds it; sorted names keep the archive stable.
(cd "$root" && find . | LC_ALL=C sort | cpio --quiet -o -H newc -R 0:0) | gzip -n -9 >"$work/initrd.img"

cp "$kernel" "$work/vmlinuz"
chmod 0644 "$work/vmlinuz" "$work/initrd.img" "$work/pattern.ppm"
# Move into place last so an interrupted build never leaves a half-written initrd behind.
mv -f "$work/pattern.ppm" "$outdir/pattern.ppm"
mv -f "$work/vmlinuz" "$outdir/vmlinuz"
mv -f "$work/initrd.img" "$outdir/initrd.img"
echo "build-guest.sh: $outdir/vmlinuz (from $kernel), $outdir/initrd.img"
