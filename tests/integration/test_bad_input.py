"""Bad input from the D-Bus peer: every malformed Listener call gets an
org.qemu.Display1.Error.Invalid reply and one warning line, the stream keeps its last good
picture, and vmcast keeps running and keeps streaming afterwards."""
from __future__ import annotations

import time

import pytest

from peer_streaming import streamed_peer
from vmcast_testlib import wait_for

INVALID = "org.qemu.Display1.Error.Invalid"

# (what, peer command): each must be refused.
BAD_CALLS = [
    ("stride smaller than a row", "scanout width=64 height=48 stride=100 format=x8r8g8b8"),
    ("data shorter than stride x height",
     "scanout width=64 height=48 stride=256 format=x8r8g8b8 len=1000"),
    ("zero width", "scanout width=0 height=48 stride=256 format=x8r8g8b8"),
    ("zero height", "scanout width=64 height=0 stride=256 format=x8r8g8b8 len=16"),
    ("width over 16384", "scanout width=16385 height=2 stride=65540 format=x8r8g8b8"),
    ("stride x height overflowing 32 bits",
     "scanout width=16384 height=16384 stride=4294967295 format=x8r8g8b8 len=64"),
    ("unknown pixel format", "scanout width=64 height=48 stride=256 format=0x12345678 len=12288"),
    ("update with a short buffer", "update x=0 y=0 width=16 height=16 format=x8r8g8b8 len=100"),
    ("update at a negative position", "update x=-1 y=0 width=16 height=16 format=x8r8g8b8"),
    ("update reaching past 16384", "update x=16380 y=0 width=16 height=1 format=x8r8g8b8"),
    ("cursor wider than 512", "cursor width=513 height=1"),
    ("cursor taller than 512", "cursor width=1 height=513"),
    ("cursor with a short buffer", "cursor width=32 height=32 len=100"),
    ("DMA-BUF that cannot be mapped",
     "scanout-dmabuf width=64 height=48 stride=256 fourcc=XR24 modifier=linear fd=bad"),
    ("DMA-BUF smaller than stride x height",
     "scanout-dmabuf width=64 height=48 stride=256 fourcc=XR24 modifier=linear size=1000"),
    ("DMA-BUF with an unknown format",
     "scanout-dmabuf width=64 height=48 stride=256 fourcc=0x20202020 modifier=linear"),
    ("UpdateDMABUF before any ScanoutDMABUF", "update-dmabuf x=0 y=0 width=8 height=8"),
]


def test_bad_listener_calls_are_refused_and_the_last_picture_stays(session, artifacts, tmp_path):
    with streamed_peer(session, artifacts, tmp_path, name="bad") as run:
        good, good_picture = run.send("scanout width=64 height=48 format=x8r8g8b8 pattern=gradient")
        assert good["ok"], good
        run.wait_picture(good_picture, what="good picture")

        for what, line in BAD_CALLS:
            warnings_before = len(run.rejection_warnings())
            result = run.peer.command(line, timeout=15)
            assert not result["ok"], f"{what}: accepted: {result}"
            assert result.get("error") == INVALID, f"{what}: {result}"
            # Exactly one warning line per refused call.
            wait_for(lambda: len(run.rejection_warnings()) > warnings_before, timeout=5,
                     what=f"a warning for {what}")
            time.sleep(0.1)
            assert len(run.rejection_warnings()) == warnings_before + 1, (
                f"{what}: more than one warning:\n" + "\n".join(run.rejection_warnings()[-3:]))
            run.assert_alive()

        # The stream still shows the last good picture...
        run.wait_picture(good_picture, timeout=5, what="last good picture")
        run.consumer.assert_no_bad_buffers()
        # ...and follows the next good pictures (the peer has no reference picture after its
        # malformed scanouts, so it starts again with a whole one).
        result, fresh = run.send("scanout width=64 height=48 format=x8r8g8b8 pattern=checker:4")
        assert result["ok"], result
        run.wait_picture(fresh, what="picture after bad input")
        result, updated = run.send("update x=8 y=8 width=16 height=16 pattern=solid:ff0000")
        assert result["ok"], result
        run.wait_picture(updated, what="picture after a good update")
        run.assert_alive()


def test_vmcast_survives_the_peer_vanishing(session, artifacts, tmp_path):
    with streamed_peer(session, artifacts, tmp_path, name="gone") as run:
        result, _ = run.send("scanout width=32 height=32 pattern=checker")
        assert result["ok"], result
        run.peer.stop()
        # The VM left the bus: vmcast removes its node and waits for it, without crashing.
        wait_for(lambda: session.find_node("vmcast.gone.0") is None, 15,
                 what="the node of the VM that left the bus going away")
        run.assert_alive()
        assert "VM 'gone' stopped" in run.vmcast_log(), run.vmcast_log()[-2000:]


@pytest.mark.parametrize("burst", [200])
def test_a_flood_of_bad_calls_neither_blocks_nor_crashes(session, artifacts, tmp_path, burst):
    with streamed_peer(session, artifacts, tmp_path, name="flood") as run:
        result, picture = run.send("scanout width=64 height=48 pattern=gradient")
        assert result["ok"], result
        result = run.peer.command(
            f"update x=-5 y=0 width=8 height=8 format=x8r8g8b8 count={burst}", timeout=30)
        assert not result["ok"] and result.get("error") == INVALID, result
        run.assert_alive()
        run.wait_picture(picture, timeout=10, what="picture after the flood")
