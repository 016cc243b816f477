#!/bin/bash
# vmcast demo: boots a tiny Linux VM (a busybox shell) under QEMU's -display dbus, streams its
# screen with `vmcast run --web`, prints the address of the page that shows it in a browser (type
# into the page and the keys reach the VM's shell), saves one frame from the PipeWire stream as
# a PNG, and says how to watch or record the stream. Stops (and cleans up) on Ctrl-C.
#
#   scripts/demo.sh                 run until Ctrl-C
#   DEMO_SECONDS=20 scripts/demo.sh stop by itself after 20 s
#
# Uses the session's PipeWire when one answers; otherwise starts a private D-Bus session bus,
# PipeWire and WirePlumber (a headless server has none).
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
build=${VMCAST_BUILD:-$top/build}
vmcast=$build/src/app/vmcast
node=vmcast.demo.0
[ -x "$vmcast" ] || { echo "demo: $vmcast not built (meson setup build && ninja -C build)" >&2; exit 1; }

state=$(mktemp -d "${TMPDIR:-/tmp}/vmcast-demo.XXXXXX")
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    echo "demo stopped; its logs stay in $state (remove it when done)"
}
trap cleanup EXIT
trap 'exit 0' INT TERM

guest=$build/tests/guest
if ! [ -r "$guest/initrd.img" ]; then
    guest=$state/guest
    "$top/tests/guest/build-guest.sh" "$guest" >/dev/null
fi

if ! { [ -n "${XDG_RUNTIME_DIR:-}" ] && [ -n "${DBUS_SESSION_BUS_ADDRESS:-}" ] &&
       pw-cli info 0 >/dev/null 2>&1; }; then
    echo "demo: no PipeWire session here; starting a private one in $state/runtime"
    export XDG_RUNTIME_DIR=$state/runtime
    mkdir -m 0700 "$XDG_RUNTIME_DIR"
    export DBUS_SESSION_BUS_ADDRESS=unix:path=$XDG_RUNTIME_DIR/bus
    dbus-daemon --session --nofork --address="$DBUS_SESSION_BUS_ADDRESS" >"$state/dbus.log" 2>&1 &
    pids+=($!)
    for _ in $(seq 50); do [ -S "$XDG_RUNTIME_DIR/bus" ] && break; sleep 0.1; done
    pipewire >"$state/pipewire.log" 2>&1 &
    pids+=($!)
    for _ in $(seq 50); do pw-cli info 0 >/dev/null 2>&1 && break; sleep 0.1; done
    wireplumber >"$state/wireplumber.log" 2>&1 &
    pids+=($!)
fi

echo "demo: booting the test VM 'demo' (QEMU, -display dbus, software emulation)"
# A USB tablet, so the page's mouse is absolute (the guest's mode=web opens it).
qemu-system-x86_64 -accel tcg -m 256 -name demo -display dbus -vga std \
    -device qemu-xhci -device usb-tablet \
    -kernel "$guest/vmlinuz" -initrd "$guest/initrd.img" \
    -append "console=ttyS0 vga=0x318 vmcast.mode=web" \
    -serial "file:$state/serial.log" -monitor none >"$state/qemu.log" 2>&1 &
pids+=($!)
# Generous waits: a first start on a busy machine (QEMU emulating the CPU, caches cold) has
# been seen to take over 10 s before the VM's first picture.
for _ in $(seq 600); do "$vmcast" list >/dev/null 2>&1 && break; sleep 0.1; done

web=${DEMO_WEB:-127.0.0.1:8081}
"$vmcast" run --vm demo --web "$web" >"$state/vmcast.out" 2>"$state/vmcast.log" &
pids+=($!)
# grep -c reads everything: grep -q would stop early, pw-cli would die of SIGPIPE, and with
# pipefail the node would count as missing.
node_exists() { pw-cli ls Node 2>/dev/null | grep -c "node.name = \"$node\"" >/dev/null; }
for _ in $(seq 120); do node_exists && break; sleep 0.5; done
node_exists || { echo "demo: no node $node; see $state/vmcast.log" >&2; exit 1; }

echo "demo: waiting for the guest's shell (about 10 s under emulation)"
for _ in $(seq 360); do grep -q "VMCAST-GUEST: ready" "$state/serial.log" 2>/dev/null && break; sleep 0.5; done
sleep 2
snapshot=$state/demo-frame.png
timeout 20 gst-launch-1.0 -q pipewiresrc target-object=$node num-buffers=1 ! video/x-raw \
    ! videoconvert ! pngenc ! filesink location="$snapshot"

url=$(sed -n "s/^vmcast: watch VM 'demo' at //p" "$state/vmcast.out")
view_url=$(sed -n 's/^vmcast: view only: //p' "$state/vmcast.out")
[ -n "$url" ] || { echo "demo: vmcast printed no web address; see $state/vmcast.log" >&2; exit 1; }

cat <<MSG

Open this in a browser to watch the VM and type into its shell:
  $url
  (view only: $view_url)
  From another machine: ssh -L 8081:127.0.0.1:8081 THIS-HOST, then open the same address there.

vmcast is also streaming the VM's screen as PipeWire node $node.
  One frame from the stream:   $snapshot
  Watch it (a desktop):        XDG_RUNTIME_DIR=$XDG_RUNTIME_DIR gst-launch-1.0 pipewiresrc target-object=$node ! video/x-raw ! videoconvert ! autovideosink
  Record it (Ctrl-C ends):     XDG_RUNTIME_DIR=$XDG_RUNTIME_DIR gst-launch-1.0 -e pipewiresrc target-object=$node keepalive-time=100 ! video/x-raw ! videorate ! video/x-raw,framerate=30/1 ! videoconvert ! x264enc tune=zerolatency ! mp4mux ! filesink location=demo.mp4
  Its consoles:                XDG_RUNTIME_DIR=$XDG_RUNTIME_DIR DBUS_SESSION_BUS_ADDRESS=$DBUS_SESSION_BUS_ADDRESS $vmcast list
  Logs (kept after the demo):  $state
Press Ctrl-C to stop.
MSG

if [ -n "${DEMO_SECONDS:-}" ]; then
    sleep "$DEMO_SECONDS"
else
    wait "${pids[-1]}"
fi
