"""Listener.Unix.ScanoutDMABUF2 (QEMU 10.1+): multi-plane DMA-BUFs showing part of a larger
backing buffer. The fake peer passes memfds, which map like linear DMA-BUFs, so this is the
CPU path vmcast takes without a GPU; RGB arrives exactly, NV12 and YUYV within 2 per channel."""
from __future__ import annotations

import pytest

from peer_streaming import streamed_peer

INVALID = "org.qemu.Display1.Error.Invalid"


def test_listener_offers_scanout_dmabuf2(session, artifacts, tmp_path):
    with streamed_peer(session, artifacts, tmp_path, name="offer2", version="10.1") as run:
        listener = run.peer.events("listener")[-1]
        assert "org.qemu.Display1.Listener.Unix.ScanoutDMABUF2" in listener["interfaces"]
        assert listener["dmabuf2"], listener


@pytest.mark.parametrize("fourcc", ["XR24", "AB24"])
@pytest.mark.parametrize("y0_top", [0, 1])
def test_visible_part_of_an_rgb_backing_buffer(session, artifacts, tmp_path, fourcc, y0_top):
    with streamed_peer(session, artifacts, tmp_path, name="rgb2", version="10.1") as run:
        result, picture = run.send(
            f"scanout-dmabuf2 width=50 height=30 x=7 y=5 backing_width=64 backing_height=48 "
            f"fourcc={fourcc} modifier=linear y0_top={y0_top} pattern=gradient")
        assert result["ok"] and result["paths"] == ["dmabuf2"], result
        run.wait_picture(picture, what=f"{fourcc} visible part, y0_top={y0_top}")
        result, picture = run.send("update-dmabuf x=3 y=2 width=20 height=10 pattern=checker:2")
        assert result["ok"], result
        run.wait_picture(picture, what=f"{fourcc} damaged part, y0_top={y0_top}")


@pytest.mark.parametrize("fourcc,extra", [("NV12", ""), ("NV12", "same_fd=1"), ("YUYV", "")])
def test_yuv_buffers_are_converted(session, artifacts, tmp_path, fourcc, extra):
    with streamed_peer(session, artifacts, tmp_path, name="yuv", version="10.1") as run:
        # Flat colours: 4:2:0 and 4:2:2 subsampling keep them exact, so only rounding remains.
        result, picture = run.send(
            f"scanout-dmabuf2 width=64 height=48 fourcc={fourcc} modifier=linear {extra} "
            f"pattern=solid:d02040")
        assert result["ok"], result
        run.wait_picture(picture, what=f"{fourcc} solid colour", tolerance=2)
        result, picture = run.send(
            f"scanout-dmabuf2 width=62 height=40 x=2 y=4 backing_width=64 backing_height=48 "
            f"fourcc={fourcc} modifier=linear {extra} pattern=checker:8")
        assert result["ok"], result
        run.wait_picture(picture, what=f"{fourcc} checker in a larger buffer", tolerance=2)


@pytest.mark.parametrize("line", [
    "scanout-dmabuf2 width=64 height=48 fourcc=NV12 modifier=linear num_planes=1",
    "scanout-dmabuf2 width=64 height=48 fourcc=XR24 modifier=linear num_planes=0",
    "scanout-dmabuf2 width=64 height=48 fourcc=XR24 modifier=linear num_planes=5",
    "scanout-dmabuf2 width=64 height=48 fourcc=NV12 modifier=linear sizes=3072,100",
    "scanout-dmabuf2 width=64 height=48 fourcc=XR24 modifier=linear offsets=4096 sizes=12288",
    "scanout-dmabuf2 width=64 height=48 x=10 backing_width=64 fourcc=XR24 modifier=linear",
    "scanout-dmabuf2 width=64 height=48 fourcc=XR24 modifier=linear fd=bad",
])
def test_bad_multi_plane_buffers_are_refused(session, artifacts, tmp_path, line):
    with streamed_peer(session, artifacts, tmp_path, name="bad2", version="10.1") as run:
        result, picture = run.send("scanout width=32 height=32 pattern=gradient")
        assert result["ok"], result
        run.wait_picture(picture, what="picture before the bad buffer")
        result = run.peer.command(line, timeout=15)
        assert not result["ok"], result
        assert result.get("error") in (INVALID, "fake-qemu.BadCommand"), result
        # Like QEMU, the peer has already announced the buffer's size on the console; vmcast
        # follows it, keeping the old picture in the corner, and keeps streaming.
        result, picture = run.send("scanout width=40 height=24 pattern=checker")
        assert result["ok"], result
        run.wait_picture(picture, what="picture after the bad buffer")
        run.assert_alive()
