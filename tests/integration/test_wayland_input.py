"""`vmcast run --wayland`: Wayland clients type and point into the console. wtype uploads its own
keymap and sends made-up key codes, so what reaches the (fake) QEMU peer proves the keys went
through the client's keymap to the US layout keys that type the same characters; modifiers that
wtype sends only as a mask must arrive as modifier keys; a client that goes lets go of its keys."""
from __future__ import annotations

import shutil
import signal

import pytest

from test_wayland_tools import SOCKET, run_tool, wayland_peer
from vmcast_testlib import wait_for
from web_page import key_events

TOOLS = ["wtype"]

# qnum codes (XT set 1) of the keys typed below.
SHIFT, CTRL, A, C, Z, ONE = 0x2a, 0x1d, 0x1e, 0x2e, 0x2c, 0x02


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
