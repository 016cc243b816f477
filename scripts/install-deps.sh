#!/bin/sh
# Install everything needed to build and test vmcast on Debian 12 (bookworm).
# Idempotent and non-interactive; runs as root, or re-runs itself through sudo.
set -eu

if [ "$(id -u)" != 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        exec sudo -E "$0" "$@"
    fi
    echo "install-deps.sh: must run as root (or with sudo available)" >&2
    exit 1
fi

export DEBIAN_FRONTEND=noninteractive

packages="
    meson ninja-build pkg-config gcc g++
    libglib2.0-dev libglib2.0-dev-bin libglib2.0-bin
    libwlroots-dev libwayland-dev wayland-protocols libpixman-1-dev libdrm-dev libegl-dev libgles-dev
    libpipewire-0.3-dev libsystemd-dev
    libpng-dev libjson-glib-dev
    libgtest-dev googletest
    qemu-system-x86 qemu-system-gui qemu-utils
    pipewire pipewire-bin wireplumber
    dbus dbus-daemon
    gstreamer1.0-tools gstreamer1.0-pipewire gstreamer1.0-plugins-base gstreamer1.0-plugins-good
    busybox-static cpio gzip linux-image-amd64
    python3 python3-pytest python3-matplotlib
    clang-format clang-14 libclang-rt-14-dev llvm-14
    libsoup-3.0-dev libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev
    libgstreamer-plugins-bad1.0-dev gstreamer1.0-plugins-bad gstreamer1.0-plugins-ugly
    gstreamer1.0-nice libyuv-dev
    chromium iproute2
    novnc websockify
    libvirt-dev libvirt-glib-1.0-dev libvirt-daemon-system libvirt-clients
    systemd groff-base man-db util-linux
    systemd-container polkitd dbus-user-session
    firefox-esr xdg-desktop-portal python3-dbusmock libportal-dev
    grim wf-recorder wlr-randr wayland-utils ffmpeg valgrind
    libxkbcommon-dev wtype wayvnc
    xdg-desktop-portal-wlr
"
# What each group is for:
#   meson .. g++                build system and compilers (C++20)
#   libglib2.0-*                GLib/GIO (D-Bus client), gdbus-codegen, the gdbus tool used by tests
#   libwlroots-dev .. libgles   headless wlroots 0.15 compositor and its rendering deps
#   libpipewire-0.3-dev         the PipeWire video producer
#   libsystemd-dev              sd-bus: the display listener's connection to QEMU, and the
#                               benchmark's comparison with GDBus (bench/dbus_receive)
#   libpng-dev libjson-glib-dev screenshots (PNG) and JSON output
#   libgtest-dev googletest     unit tests
#   qemu-system-x86 .. -utils   real QEMU 7.2 for integration tests; qemu-system-gui ships the
#                               ui-dbus.so module behind `-display dbus`
#   pipewire .. wireplumber     a real PipeWire daemon, pw-cli/pw-dump, the session manager
#   dbus dbus-daemon            private session buses for tests (WirePlumber needs one)
#   gstreamer1.0-*              a real consumer: gst-launch-1.0 pipewiresrc ! video/x-raw ! ...
#   busybox-static .. linux-image-amd64
#                               the test guest (tests/guest): static busybox initrd, host kernel
#   python3 python3-pytest      integration test runner (stdlib only otherwise)
#   python3-matplotlib          the benchmark's plot (bench/run)
#   clang-format                source formatting check
#   clang-14 libclang-rt-14-dev llvm-14
#                               the fuzz targets (fuzz/, -Dfuzz=true) and the sanitizer build:
#                               clang, its libFuzzer and sanitizer runtimes, llvm-symbolizer
#                               for readable stacks
#   libsoup-3.0-dev .. -nice    the web page: HTTP and WebSocket (libsoup 3), webrtcbin and its
#                               ICE (libnice), x264enc (ugly) and vp8enc; libyuv converts
#                               the console's pixels to the encoders' I420
#   libvirt-dev libvirt-glib-1.0-dev
#                               vmcast run --libvirt: libvirt's C API, its events on the GLib loop
#   libvirt-daemon-system libvirt-clients
#                               the libvirt tests: a real libvirtd (qemu:///system) and virsh
#   chromium iproute2 (nodejs npm)
#                               browser tests: Debian's Chromium driven by playwright-core (npm),
#                               in a loopback-only network namespace (ip)
#   novnc websockify            the benchmark's comparison of the page with noVNC 1.3
#   systemd groff-base man-db util-linux
#                               the service tests: systemd-analyze verify on the units, groff
#                               and man warnings on the man page, unshare and mount (a journal
#                               socket of the test's own)
#   systemd-container polkitd dbus-user-session
#                               the systemd units test: systemd-nspawn boots this machine's OS
#                               (systemd as PID 1, libvirtd with polkit's rules, as a libvirt
#                               host has them) for the units to run under; a user manager's
#                               session bus for the user unit
#   firefox-esr xdg-desktop-portal python3-dbusmock libportal-dev
#                               the camera tests: both browsers' PipeWire camera, a real Camera
#                               portal with a mocked Access backend, the libportal example
#   grim wf-recorder wlr-randr wayland-utils ffmpeg
#                               the Wayland tests (run --wayland): screenshots, a recording,
#                               output listing, wayland-info; ffprobe reads the recording
#   libxkbcommon-dev wtype wayvnc
#                               input from Wayland clients: xkbcommon translates their keymaps;
#                               wtype and wayvnc type and point into the console in the tests
#   xdg-desktop-portal-wlr      the ScreenCast portal test: the real portal's wlroots backend
#                               casting a console through the Wayland socket

# Node.js for the browser tests: Debian's, unless a node and npm are already installed (a
# NodeSource node conflicts with Debian's npm package).
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    packages="$packages nodejs npm"
fi

apt-get update
# shellcheck disable=SC2086 # word splitting of the list is intended
apt-get install -y --no-install-recommends $packages

# build-guest.sh copies /boot/vmlinuz-* as the build user; Debian installs it 0644, but make sure.
chmod a+r /boot/vmlinuz-* 2>/dev/null || true
echo "install-deps.sh: all dependencies installed"
