"""`vmcast run --wayland`: Wayland clients type and point into the console. wtype uploads its own
keymap and sends made-up key codes, so what reaches the (fake) QEMU peer proves the keys went
through the client's keymap to the US layout keys that type the same characters; modifiers that
wtype sends only as a mask must arrive as modifier keys; a client that goes lets go of its keys.
wayvnc, driven by an RFB client, shows the console and types, clicks and scrolls into it."""
from __future__ import annotations

import shutil
import signal
from contextlib import contextmanager

import pytest

from test_wayland_tools import SOCKET, VM, assert_same, run_tool, show, wayland_peer
from vmcast_testlib import free_port, wait_for
from vmcast_testlib.rfb import BUTTON_LEFT, WHEEL_DOWN, WHEEL_UP, XK_SHIFT_L, Viewer
from web_page import key_events

TOOLS = ["wtype", "wayvnc"]

# qnum codes (XT set 1) of the keys typed below.
SHIFT, CTRL, A, C, Z, ONE = 0x2a, 0x1d, 0x1e, 0x2e, 0x2c, 0x02
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
