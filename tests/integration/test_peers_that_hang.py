"""Peers that stop answering (issue 23): a QEMU that is SIGSTOPped, a PipeWire consumer that
holds every buffer, the PipeWire daemon SIGSTOPped. vmcast's one main loop must never wait for
any of them: the other VMs, consoles and consumers keep getting pictures, and each stopped peer
works again once it runs. QEMU is the fake peer (two of them on one bus, or two consoles), the
rest is real: PipeWire, WirePlumber, consumers, wtype on vmcast's Wayland socket.
(A Wayland client that stops reading is test_wayland_wire_clients.py's flood test; a WebSocket
viewer that stops reading is test_web_peers_that_hang.py.)
"""
from __future__ import annotations

import os
import signal
import subprocess
from contextlib import contextmanager

from peer_streaming import StreamedPeer, streamed_peer
from test_wayland_tools import printed_display
from vmcast_testlib.consumer import FrameConsumer
from vmcast_testlib.fake_qemu import FakeQemu
import web_page
from web_page import listed_vms

# QEMU's own D-Bus calls to its listener wait 25 s (GDBus's default): a reply later than that
# would be an error in QEMU, so "answered within it" is the bound on vmcast, not a speed target.
QEMU_CALL_TIMEOUT_MS = 25000
# evdev's KEY_A, as wtype's keymap sends it; QEMU's number for it (qnum) is 0x1e.
QNUM_A = 0x1e

web = web_page.web  # the fixture


@contextmanager
def stopped(pid: int):
    os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(pid, signal.SIGCONT)


def shows(run: StreamedPeer, line: str, what: str) -> None:
    """The peer shows line's picture and the consumer gets it."""
    result, picture = run.send(line)
    assert result["ok"], result
    run.wait_picture(picture, what=what)


def typed_a(run: StreamedPeer) -> subprocess.CompletedProcess:
    """wtype on vmcast's Wayland socket: its keys go to the first console, the first VM's."""
    return subprocess.run(["wtype", "a"],
                          env={**run.session.env, "WAYLAND_DISPLAY": printed_display(run)},
                          capture_output=True, text=True, timeout=60)


def test_a_stopped_vm_leaves_the_other_streaming_and_typing(session, artifacts, tmp_path):
    with streamed_peer(session, artifacts, tmp_path, name="awake",
                       vmcast_args=["--wayland"]) as awake, \
            FakeQemu(session.env, name="asleep") as asleep_peer:
        asleep_peer.wait_listener(timeout=30)
        with FrameConsumer(session, "vmcast.asleep.0", tmp_path / "asleep.frame") as consumer:
            asleep = StreamedPeer(session, asleep_peer, awake.vmcast, consumer, tmp_path,
                                  artifacts)
            shows(asleep, "scanout width=64 height=48 pattern=solid:0000ff", "asleep's picture")
            shows(awake, "scanout width=64 height=48 pattern=solid:00ff00", "awake's picture")
            with stopped(asleep_peer.proc.pid):
                # asleep's page, node and listener stay; the fake peer reads nothing meanwhile.
                for i in range(8):
                    shows(awake, f"update x=0 y=0 width=64 height=48 pattern=solid:{i:02x}80ff",
                          f"awake's picture {i} while asleep is stopped")
                mark = awake.peer.mark()
                typed = typed_a(awake)
                assert typed.returncode == 0, typed.stderr
                presses = awake.peer.wait_event("key", timeout=20, since=mark)
                assert (presses["action"], presses["keycode"]) == ("press", QNUM_A), presses
                awake.assert_alive()
            # Going on where it stopped: its picture, and what it shows next.
            shows(asleep, "update x=8 y=8 width=16 height=16 pattern=solid:ff0000",
                  "asleep's picture after SIGCONT")
        awake.assert_alive()


def test_a_consumer_holding_every_buffer_leaves_the_others_served(session, artifacts, tmp_path):
    with streamed_peer(session, artifacts, tmp_path, name="held",
                       peer_args=["--consoles", "2"]) as run:
        shows(run, "scanout width=64 height=48 pattern=gradient", "the first picture")
        with FrameConsumer(session, "vmcast.held.0", tmp_path / "hoard.frame",
                           extra_args=["--hold-buffers"]) as hoarder, \
                FrameConsumer(session, "vmcast.held.1", tmp_path / "other.frame") as other:
            other_console = StreamedPeer(session, run.peer, run.vmcast, other, tmp_path,
                                         artifacts)
            shows(other_console, "scanout console=1 width=48 height=32 pattern=gradient",
                  "console 1's first picture")
            hoarder.wait_pictures(1, timeout=15)
            for i in range(12):
                shows(run, f"update x=0 y=0 width=64 height=48 pattern=solid:{i:02x}00ff",
                      f"console 0's picture {i} beside the hoarder")
                shows(other_console,
                      f"update console=1 x=0 y=0 width=48 height=32 pattern=solid:00{i:02x}ff",
                      f"console 1's picture {i} beside the hoarder")
            assert hoarder.alive()
            run.assert_alive()


def test_pipewire_stopped_leaves_qemu_and_the_page_answered(session, artifacts, tmp_path, web):
    port, args = web
    with streamed_peer(session, artifacts, tmp_path, name="pwstop", vmcast_args=args) as run:
        shows(run, "scanout width=64 height=48 pattern=gradient", "the first picture")
        with stopped(session.daemons["pipewire"].pid):
            for i in range(10):
                # QEMU waits for each reply; vmcast must give them without PipeWire.
                result, last = run.send(f"update x={i} y={i} width=16 height=16 "
                                        f"pattern=solid:{i:02x}ff00 "
                                        f"call_timeout={QEMU_CALL_TIMEOUT_MS}")
                assert result["ok"], f"QEMU's call went unanswered while PipeWire was " \
                                     f"stopped: {result}"
            assert [vm["name"] for vm in listed_vms(port)] == ["pwstop"]
            run.assert_alive()
        # The consumer is PipeWire's client too: it gets what vmcast streams now.
        run.wait_picture(last, timeout=30, what="the picture after PipeWire went on")
        shows(run, "update x=40 y=20 width=8 height=8 pattern=solid:ffffff",
              "a change after PipeWire went on")
        run.assert_alive()
