"""Listener.Unix.Map (QEMU 9.2+): the peer shares its surface as a memfd, vmcast shows the
mapped pages, and a PipeWire consumer sees exactly what the peer drew. Bad maps are refused,
and a memfd truncated under vmcast neither crashes it nor stops the stream."""
from __future__ import annotations

import pytest

from peer_streaming import streamed_peer
from vmcast_testlib import wait_for
from vmcast_testlib.consumer import FrameConsumer

INVALID = "org.qemu.Display1.Error.Invalid"


def test_listener_offers_the_map_interface(session, artifacts, tmp_path):
    with streamed_peer(session, artifacts, tmp_path, name="offer", version="9.2") as run:
        listener = run.peer.events("listener")[-1]
        assert "org.qemu.Display1.Listener.Unix.Map" in listener["interfaces"], listener
        assert listener["map"], listener


# In place: formats the compositor reads directly. Converted: 24- and 16-bit formats.
@pytest.mark.parametrize("fmt", ["x8r8g8b8", "x8b8g8r8", "r8g8b8", "r5g6b5"])
def test_mapped_frames_reach_the_consumer(session, artifacts, tmp_path, fmt):
    with streamed_peer(session, artifacts, tmp_path, name="map", version="9.2") as run:
        result, picture = run.send(
            f"scanout-map width=72 height=40 format={fmt} offset=64 pattern=gradient")
        assert result["ok"] and result["paths"] == ["map"], result
        run.wait_picture(picture, what=f"{fmt} mapped scanout")
        result, picture = run.send("update-map x=10 y=5 width=30 height=20 pattern=checker:3")
        assert result["ok"] and result["paths"] == ["map"], result
        run.wait_picture(picture, what=f"{fmt} mapped update")
        # Back to pixels over the bus: the picture carries on from the map.
        result, picture = run.send(f"update x=0 y=0 width=8 height=8 format={fmt} "
                                   "pattern=solid:00ff00")
        assert result["ok"], result
        run.wait_picture(picture, what=f"{fmt} bus update after the map")


@pytest.mark.parametrize("line", [
    "scanout-map width=64 height=48 size=1000",
    "scanout-map width=64 height=48 offset=8192 size=12288",
    "scanout-map width=64 height=48 stride=100",
])
def test_bad_maps_are_refused(session, artifacts, tmp_path, line):
    with streamed_peer(session, artifacts, tmp_path, name="badmap", version="9.2") as run:
        result, picture = run.send("scanout width=32 height=32 pattern=gradient")
        assert result["ok"], result
        run.wait_picture(picture, what="picture before the bad map")
        result = run.peer.command(line, timeout=15)
        assert not result["ok"] and result.get("error") == INVALID, result
        run.wait_picture(picture, timeout=5, what="picture after the bad map")
        run.assert_alive()


def test_update_map_before_any_scanout_map_is_refused(session, artifacts, tmp_path):
    with streamed_peer(session, artifacts, tmp_path, name="early", version="9.2") as run:
        # Without a map, the peer sends its update to vmcast's map interface only if asked to;
        # a 9.2 peer that lost its map falls back to Update, so drive UpdateMap by hand.
        result = run.peer.command("update-map x=0 y=0 width=8 height=8", timeout=15)
        assert not result["ok"] or result.get("paths") != ["map"], result
        run.assert_alive()


def test_truncated_memfd_is_survived(session, artifacts, tmp_path):
    with streamed_peer(session, artifacts, tmp_path, name="trunc", version="9.2") as run:
        result, picture = run.send("scanout-map width=128 height=64 pattern=gradient "
                                   "truncate-after=1")
        assert result["ok"] and result["paths"] == ["map"], result
        run.wait_picture(picture, what="mapped picture")
        # The peer shrinks the memfd under the mapping (QEMU's memfds carry no seals).
        assert run.peer.command("truncate-map size=4096")["ok"]
        # A consumer that starts now makes vmcast render the mapping again: the lost pages
        # must read as zeros instead of killing vmcast with SIGBUS.
        run.consumer.stop()
        late_dump = tmp_path / "late.frame"
        with FrameConsumer(session, "vmcast.trunc.0", late_dump) as late:
            late.wait_pictures(1, timeout=15)
            image = late.latest_image()
            assert image.size == (128, 64)
            assert image.pixel(127, 63) == (0, 0, 0)
            run.assert_alive()
            # The next UpdateMap is refused with a clear error; vmcast carries on with a copy.
            result = run.peer.command("update-map x=0 y=0 width=8 height=8")
            assert not result["ok"] and result.get("error") == INVALID, result
            assert "shrank" in result.get("message", ""), result
            run.assert_alive()
            run.consumer = late
            result, picture = run.send("scanout width=40 height=30 pattern=checker")
            assert result["ok"], result
            run.wait_picture(picture, what="bus picture after the truncated map")
        wait_for(lambda: "shrank" in run.vmcast_log(), timeout=5, what="a warning in the log")
