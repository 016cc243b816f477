"""`vmcast run --wayland`: Wayland clients type and point into the console. wtype uploads its own
keymap and sends made-up key codes, so what reaches the (fake) QEMU peer proves the keys went
through the client's keymap to the US layout keys that type the same characters; modifiers that
wtype sends only as a mask must arrive as modifier keys; a client that goes lets go of its keys.
wayvnc, driven by an RFB client, shows the console and types, clicks and scrolls into it; with
two consoles, keys go to the one the seat last pointed at. With real QEMU, a line typed with wtype
runs in the test guest's shell."""
from __future__ import annotations

import os
import shutil
import signal
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace

import pytest

from test_wayland_tools import (BOOT_TIMEOUT, SOCKET, VM, assert_same, grim, run_tool, show,
                                wayland_peer)
from vmcast_testlib import Qemu, compare, free_port, wait_for
from vmcast_testlib.fake_qemu import FakeQemu
from vmcast_testlib.rfb import BUTTON_LEFT, WHEEL_DOWN, WHEEL_UP, XK_SHIFT_L, Viewer
from vmcast_testlib.wayland_wire import WaylandError, WireClient, uint
from web_page import key_events

TOOLS = ["wtype", "wayvnc"]

# qnum codes (XT set 1) of the keys typed below.
SHIFT, CTRL, A, C, Z, ONE = 0x2a, 0x1d, 0x1e, 0x2e, 0x2c, 0x02
FOUR, NINE, ZERO, COMMA = 0x05, 0x0a, 0x0b, 0x33
# QEMU's mouse buttons (org.qemu.Display1.Mouse).
QEMU_LEFT, QEMU_WHEEL_UP, QEMU_WHEEL_DOWN = 0, 3, 4


@pytest.fixture(autouse=True)
def tools_installed():
    missing = [tool for tool in TOOLS if not shutil.which(tool)]
    if missing:  # a failure in CI (VMCAST_CI=1, see conftest.py)
        pytest.skip(f"not installed: {', '.join(missing)} (scripts/install-deps.sh)")


def tap(code: int) -> list[tuple[str, int]]:
    return [("press", code), ("release", code)]


def shifted(code: int) -> list[tuple[str, int]]:
    return [("press", SHIFT), *tap(code), ("release", SHIFT)]


def wait_for_keys(run, mark: int, expected: list[tuple[str, int]], what: str) -> None:
    """Waits for as many key events as expected, then compares them all: a wrong or extra key
    fails, a missing one times out."""
    wait_for(lambda: len(key_events(run.peer, mark)) >= len(expected), 20, what=what)
    assert key_events(run.peer, mark) == expected, what


def wtype(session, *args: str) -> None:
    res = run_tool(session, ["wtype", *args])
    assert res.returncode == 0, f"wtype {' '.join(args)} failed ({res.returncode}):\n{res.stderr}"


def test_wtype_text_arrives_as_us_layout_keys(session, artifacts, tmp_path):
    with wayland_peer(session, artifacts, tmp_path) as run:
        mark = run.peer.mark()
        wtype(session, "aZ!")
        wait_for_keys(run, mark, [*tap(A), *shifted(Z), *shifted(ONE)], "wtype 'aZ!' at the peer")
        # Main-block keys with Shift, not the keys of other keyboards that also type these
        # (KEY_DOLLAR, the keypad's parentheses, the 102nd key), which PS/2 guests lack.
        mark = run.peer.mark()
        wtype(session, "$()<")
        wait_for_keys(run, mark, [*shifted(FOUR), *shifted(NINE), *shifted(ZERO), *shifted(COMMA)],
                      "wtype '$()<' at the peer")


def test_wtype_modifier_mask_is_pressed_as_a_key(session, artifacts, tmp_path):
    with wayland_peer(session, artifacts, tmp_path) as run:
        mark = run.peer.mark()
        wtype(session, "-M", "ctrl", "c", "-m", "ctrl")
        wait_for_keys(run, mark, [("press", CTRL), *tap(C), ("release", CTRL)],
                      "wtype -M ctrl c -m ctrl at the peer")


def test_keys_of_a_killed_client_are_released(session, artifacts, tmp_path):
    with wayland_peer(session, artifacts, tmp_path) as run:
        mark = run.peer.mark()
        # -P presses without releasing; the sleep keeps wtype connected with the key down.
        holder = session.spawn(["wtype", "-P", "a", "-s", "600000"], name="wtype-holding",
                               env={"WAYLAND_DISPLAY": SOCKET})
        wait_for(lambda: key_events(run.peer, mark) == [("press", A)], 20,
                 what="wtype -P a pressing A at the peer")
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=10)
        wait_for_keys(run, mark, tap(A), "A released when its client died")
        run.assert_alive()


def test_wtype_line_runs_in_the_guest_shell(session, guest, artifacts, tmp_path):
    """Real QEMU, the test guest's shell on its VGA console: a line typed with wtype, then
    Return, runs there. Only the shell evaluating `$((6*7))` puts VMCAST-WTYPE-42 on the serial
    port (the typed line itself shows on the VGA console, not on the serial port); $ ( * ) > need
    Shift, which wtype's own keymap leaves vmcast to add."""
    qemu = Qemu(session, VM, **guest.qemu_args("shell")).start()
    qemu.wait_serial("VMCAST-GUEST: ready mode=shell", BOOT_TIMEOUT)
    before = qemu.wait_screen_drawn()
    vmcast = session.spawn([os.environ["VMCAST_BIN"], "run", "--verbose", "--vm", VM,
                            "--wayland"], name="vmcast")

    def output_ready() -> bool:
        assert vmcast.poll() is None, "vmcast exited:\n" + session.log_path(
            vmcast.log_name, "stderr").read_text(errors="replace")
        return run_tool(session, ["grim", "-o", f"vmcast.{VM}.0",
                                  str(tmp_path / "ready.png")]).returncode == 0
    wait_for(output_ready, 60, 0.5, what=f"output vmcast.{VM}.0 (grim on it)")
    assert "VMCAST-WTYPE" not in qemu.serial_text()

    wtype(session, "echo VMCAST-WTYPE-$((6*7)) > /dev/ttyS0")
    wtype(session, "-k", "Return")
    try:
        qemu.wait_serial("VMCAST-WTYPE-42", 60)
    except AssertionError:
        artifacts.save_image("screen-after-wtype", qemu.screendump())
        raise
    changed = compare(before, qemu.screendump()).differing_pixels
    assert changed > 100, f"the typed line did not show on the VGA console ({changed} pixels)"
    assert vmcast.poll() is None


def connect_viewer(run, wayvnc, port: int) -> Viewer:
    """An RFB client connected once wayvnc listens; wayvnc quitting fails at once."""
    def connected():
        assert wayvnc.poll() is None, "wayvnc exited:\n" + run.session.log_path(
            wayvnc.log_name, "stderr").read_text(errors="replace")
        try:
            return Viewer("127.0.0.1", port)
        except ConnectionRefusedError:
            return None
    return wait_for(connected, 20, what="wayvnc accepting an RFB client")


@contextmanager
def wayvnc_viewer(session, artifacts, tmp_path):
    """The fake peer (absolute mouse, as with a USB tablet) showing a 320x200 gradient, wayvnc on
    its output, and an RFB client with the whole framebuffer read once."""
    with wayland_peer(session, artifacts, tmp_path, peer_args=["--absolute"]) as run:
        run.picture = show(run, "scanout width=320 height=200 pattern=gradient", "the gradient")
        port = free_port()
        wayvnc = session.spawn(["wayvnc", "-o", f"vmcast.{VM}.0", "127.0.0.1",
                                str(port)], name="wayvnc", env={"WAYLAND_DISPLAY": SOCKET})
        with connect_viewer(run, wayvnc, port) as viewer:
            viewer.update(incremental=False)
            yield run, viewer
        run.assert_alive()


def pointer_events(peer, since: int) -> list[tuple]:
    """Positions and buttons in order; a position QEMU refused keeps its error."""
    events = []
    for event in peer.events(since=since):
        if event["event"] == "mouse-abs":
            events.append(("abs", event["x"], event["y"], event.get("error")))
        elif event["event"] in ("mouse-button", "mouse-rel"):
            events.append((event["event"], event.get("action"), event.get("button")))
    return events


def buttons(events: list[tuple]) -> list[tuple]:
    return [(action, button) for kind, action, button, *_ in events if kind == "mouse-button"]


def test_wayvnc_shows_the_console(session, artifacts, tmp_path):
    with wayvnc_viewer(session, artifacts, tmp_path) as (run, viewer):
        assert viewer.size == (320, 200)
        assert_same(artifacts, viewer.image(), run.picture, "wayvnc framebuffer")


def test_wayvnc_watching_a_still_screen_gives_the_stream_no_frames(session, artifacts, tmp_path):
    """wayvnc copies with damage and keeps a copy request waiting: the empty commits that forces
    must not become PipeWire frames; a change then reaches both the stream and the viewer."""
    with wayvnc_viewer(session, artifacts, tmp_path) as (run, viewer):
        # Past the whole pictures a new consumer gets again up to 1 s after it joins
        # (src/pipewire/workarounds.h, NewConsumerRepeats).
        time.sleep(1.2)
        frames_before = len(run.consumer.frames)
        waiting = threading.Thread(target=viewer.update)  # answered at the next change only
        waiting.start()
        time.sleep(2)
        assert len(run.consumer.frames) == frames_before, run.consumer.describe()
        changed = show(run, "update x=0 y=0 width=16 height=16 pattern=solid:00ff00",
                       "a change after the still screen")
        waiting.join(timeout=30)
        assert not waiting.is_alive(), "wayvnc sent no update for the change"
        viewer.update(incremental=False)
        assert_same(artifacts, viewer.image(), changed, "wayvnc framebuffer after the change")


def test_wayvnc_keys_arrive_as_us_layout_keys(session, artifacts, tmp_path):
    with wayvnc_viewer(session, artifacts, tmp_path) as (run, viewer):
        for what, send, expected in [
                ("'a'", lambda: viewer.tap(ord("a")), tap(A)),
                # wayvnc sends 'A' alone as a Shift mask around key A.
                ("'A' without Shift", lambda: viewer.tap(ord("A")), shifted(A)),
                ("Shift, 'A'", lambda: (viewer.key(XK_SHIFT_L, True), viewer.tap(ord("A")),
                                        viewer.key(XK_SHIFT_L, False)), shifted(A))]:
            mark = run.peer.mark()
            send()
            wait_for_keys(run, mark, expected, f"{what} through wayvnc at the peer")


def test_wayvnc_click_lands_at_the_guest_position(session, artifacts, tmp_path):
    with wayvnc_viewer(session, artifacts, tmp_path) as (run, viewer):
        # y = 57: 57 / 200 * 200 is just under 57 in floating point.
        for x, y in [(213, 57), (0, 0), (319, 199)]:
            mark = run.peer.mark()
            viewer.pointer(x, y)
            viewer.pointer(x, y, BUTTON_LEFT)
            viewer.pointer(x, y)
            wait_for(lambda: len(buttons(pointer_events(run.peer, mark))) >= 2, 20,
                     what=f"a click at ({x}, {y}) through wayvnc at the peer")
            events = pointer_events(run.peer, mark)
            assert buttons(events) == [("press", QEMU_LEFT), ("release", QEMU_LEFT)], events
            positions = [event for event in events if event[0] != "mouse-button"]
            assert positions and set(positions) == {("abs", x, y, None)}, events
            assert events[0][0] == "abs", f"the position must come before the press: {events}"


def console_keys(peer, since: int) -> list[tuple[int, str, int]]:
    """Key events with the console that got each."""
    return [(e["console"], e["action"], e["keycode"]) for e in peer.events("key", since=since)]


def wait_for_console_keys(peer, mark: int, expected: list[tuple[int, str, int]],
                          what: str) -> None:
    wait_for(lambda: len(console_keys(peer, mark)) >= len(expected), 20, what=what)
    assert console_keys(peer, mark) == expected, what


@contextmanager
def two_consoles(session, tmp_path, peer_args=(), command_prefix=()):
    """The fake peer with two 320x200 consoles, streamed with --wayland, both outputs there;
    vmcast's command line behind command_prefix (valgrind and its options, say)."""
    with FakeQemu(session.env, name=VM, consoles=2, extra_args=peer_args) as peer:
        vmcast = session.spawn([*command_prefix, os.environ["VMCAST_BIN"], "run", "--verbose",
                                "--vm", VM, "--wayland"], name="vmcast")
        for index in (0, 1):
            peer.wait_listener(console=index, timeout=20)
            result = peer.command(f"scanout width=320 height=200 pattern=gradient "
                                  f"console={index}", timeout=15)
            assert result["ok"], result
            wait_for(lambda: session.find_node(f"vmcast.{VM}.{index}"), timeout=20,
                     what=f"node of console {index}")
        wait_for(lambda: run_tool(session, ["grim", "-o", f"vmcast.{VM}.1",
                                            str(tmp_path / "ready.png")]).returncode == 0,
                 20, 0.5, what=f"output vmcast.{VM}.1")
        yield SimpleNamespace(session=session, peer=peer, vmcast=vmcast)


def test_keys_go_to_the_console_last_pointed_at(session, artifacts, tmp_path):
    """Two consoles (absolute mice): keys go to console 0, the first in the layout, until a
    click through wayvnc on output vmcast.VM.1 lands on console 1; from then on wayvnc's keys and
    wtype's, the seat's one keyboard, go to console 1 and none to console 0."""
    with two_consoles(session, tmp_path, ["--absolute"]) as run:
        peer, vmcast = run.peer, run.vmcast
        mark = peer.mark()
        wtype(session, "a")
        wait_for_console_keys(peer, mark, [(0, "press", A), (0, "release", A)],
                              "wtype 'a' on console 0 before any pointer event")

        port = free_port()
        wayvnc = session.spawn(["wayvnc", "-o", f"vmcast.{VM}.1", "127.0.0.1", str(port)],
                               name="wayvnc", env={"WAYLAND_DISPLAY": SOCKET})
        with connect_viewer(run, wayvnc, port) as viewer:
            viewer.update(incremental=False)
            mark = peer.mark()
            viewer.pointer(100, 50)
            viewer.pointer(100, 50, BUTTON_LEFT)
            viewer.pointer(100, 50)
            wait_for(lambda: len([e for e in peer.events("mouse-button", since=mark)]) >= 2,
                     20, what="the click through wayvnc at the peer")
            clicks = [(e["console"], e["event"], e.get("action"), e.get("x"), e.get("y"),
                       e.get("error")) for e in peer.events(since=mark)
                      if e["event"] in ("mouse-abs", "mouse-button")]
            assert clicks and all(console == 1 for console, *_ in clicks), clicks
            assert (1, "mouse-abs", None, 100, 50, None) in clicks, clicks

            mark = peer.mark()
            viewer.tap(ord("z"))
            wait_for_console_keys(peer, mark, [(1, "press", Z), (1, "release", Z)],
                                  "an RFB 'z' on console 1 after the click there")
            mark = peer.mark()
            wtype(session, "c")
            wait_for_console_keys(peer, mark, [(1, "press", C), (1, "release", C)],
                                  "wtype 'c' on console 1 after the click there")
        assert vmcast.poll() is None


def test_wayvnc_wheel_scrolls(session, artifacts, tmp_path):
    with wayvnc_viewer(session, artifacts, tmp_path) as (run, viewer):
        viewer.pointer(10, 10)
        for mask, button in [(WHEEL_UP, QEMU_WHEEL_UP), (WHEEL_DOWN, QEMU_WHEEL_DOWN)]:
            mark = run.peer.mark()
            viewer.pointer(10, 10, mask)
            viewer.pointer(10, 10)
            wait_for(lambda: len(buttons(pointer_events(run.peer, mark))) >= 2, 20,
                     what=f"wheel button {button} through wayvnc at the peer")
            events = pointer_events(run.peer, mark)
            assert buttons(events) == [("press", button), ("release", button)], events


# zwp_virtual_keyboard_v1 requests and its one error; wl_keyboard's XKB keymap format.
KEYMAP, KEY = 0, 1
NO_KEYMAP = 0
XKB_V1 = 1
US_KEYMAP = (b'xkb_keymap { xkb_keycodes { include "evdev" }; xkb_types { include "complete" };'
             b' xkb_compatibility { include "complete" }; xkb_symbols { include "pc+us" }; };\0')
EVDEV_A = 30


def virtual_keyboard(path: str) -> tuple[WireClient, int]:
    """A raw client with a zwp_virtual_keyboard_v1 on seat0."""
    client = WireClient(path)
    client.get_globals()
    seat = client.bind("wl_seat")
    manager = client.bind("zwp_virtual_keyboard_manager_v1")
    keyboard = client.new_id()
    client.send(manager, 0, uint(seat) + uint(keyboard))  # create_virtual_keyboard
    return client, keyboard


def keymap_memfd(name: str, text: bytes) -> int:
    """A keymap as wayvnc sends one: a memfd (a file on tmpfs)."""
    fd = os.memfd_create(name)
    os.write(fd, text)
    return fd


def test_hostile_virtual_keyboards_are_disconnected(session, artifacts, tmp_path):
    with wayland_peer(session, artifacts, tmp_path) as run:
        path = str(Path(session.env["XDG_RUNTIME_DIR"]) / SOCKET)
        read_end, write_end = os.pipe()
        os.write(write_end, US_KEYMAP)
        cases = [
            ("a key before any keymap", "a key before a keymap", KEY,
             uint(0) + uint(EVDEV_A) + uint(1), None),
            ("a keymap in a pipe", "not a file", KEYMAP,
             uint(XKB_V1) + uint(len(US_KEYMAP)), read_end),
            ("a size past the file's end", "cannot be read whole", KEYMAP,
             uint(XKB_V1) + uint(len(US_KEYMAP) + 4096),
             keymap_memfd("short.xkb", US_KEYMAP)),
            ("garbage text", "does not compile", KEYMAP, uint(XKB_V1) + uint(32),
             keymap_memfd("garbage.xkb", b"xkb_keymap { this is not xkb {{{")),
            # A regular file whose reads a filesystem outside the kernel's memory and local
            # disks answers (FUSE, NFS) could block the main loop: procfs stands in for them.
            ("a keymap on procfs", "whose reads could block", KEYMAP,
             uint(XKB_V1) + uint(len(US_KEYMAP)), os.open("/proc/version", os.O_RDONLY)),
        ]
        for what, reason, request, args, fd in cases:
            client, keyboard = virtual_keyboard(path)
            client.send(keyboard, request, args, [fd] if fd is not None else [])
            with pytest.raises(WaylandError) as error:
                client.roundtrip()
            object_id, code, message = error.value.args
            assert (object_id, code) == (keyboard, NO_KEYMAP) and reason in message, what
            assert client.closed_by_compositor(), what
            client.close()
            if fd is not None:
                os.close(fd)
        os.close(write_end)
        # A well-behaved raw client with the same keymap types: the cases failed for their
        # reason, not for a mistake of the raw client.
        mark = run.peer.mark()
        client, keyboard = virtual_keyboard(path)
        fd = keymap_memfd("us.xkb", US_KEYMAP)
        client.send(keyboard, KEYMAP, uint(XKB_V1) + uint(len(US_KEYMAP)), [fd])
        os.close(fd)
        client.send(keyboard, KEY, uint(0) + uint(EVDEV_A) + uint(1))
        client.send(keyboard, KEY, uint(0) + uint(EVDEV_A) + uint(0))
        client.roundtrip()
        client.close()
        wait_for_keys(run, mark, tap(A), "a raw client's 'a' at the peer")
        # vmcast keeps serving: the stream follows the console, grim copies it.
        picture = show(run, "scanout width=64 height=48 pattern=gradient", "picture after")
        assert_same(artifacts, grim(session, tmp_path / "after.png", "-o", f"vmcast.{VM}.0"),
                    picture, "grim after hostile keyboards")
        run.assert_alive()
