"""What the fake QEMU peer sends is what a PipeWire consumer of vmcast's stream sees: every
pixman format QEMU 7.2 can send, updates, linear DMA-BUFs (top-down and bottom-up), a size
change without Scanout, and and the pointer's paths (test_cursor.py)."""
from __future__ import annotations

import os

import pytest

from peer_streaming import streamed_peer
from vmcast_testlib import read_vmcast_frame, wait_for
from vmcast_testlib.consumer import FrameConsumer
from vmcast_testlib.fake_qemu import FakeQemu

# Formats without alpha: the picture is opaque, so the stream must equal it exactly.
OPAQUE_FORMATS = ["x8r8g8b8", "b8g8r8x8", "x8b8g8r8", "r8g8b8x8", "r8g8b8", "b8g8r8", "r5g6b5",
                  "x1r5g5b5"]
# Formats with alpha, sent opaque (what guests put on screen).
ALPHA_FORMATS = ["a8r8g8b8", "b8g8r8a8", "a8b8g8r8", "r8g8b8a8"]


@pytest.mark.parametrize("consumer_format", ["BGRx", "BGRA", "RGBx", "RGBA"])
def test_every_pixman_format_reaches_the_consumer_exactly(session, artifacts, tmp_path,
                                                          consumer_format):
    with streamed_peer(session, artifacts, tmp_path, name="formats", fmt=consumer_format) as run:
        for fmt in OPAQUE_FORMATS:
            # Odd width: 24- and 16-bit rows are then not a multiple of 4 bytes.
            result, picture = run.send(f"scanout width=61 height=37 format={fmt} pattern=gradient")
            assert result["ok"], result
            run.wait_picture(picture, what=f"{fmt} scanout")
            result, picture = run.send(
                f"update x=5 y=3 width=13 height=7 format={fmt} pattern=random:{len(fmt)}")
            assert result["ok"], result
            run.wait_picture(picture, what=f"{fmt} update")
        for fmt in ALPHA_FORMATS:
            result, picture = run.send(
                f"scanout width=40 height=30 format={fmt} pattern=solid:ff2080c0")
            assert result["ok"], result
            run.wait_picture(picture, what=f"{fmt} scanout")
        assert {f["format"] for f in run.consumer.formats} == {consumer_format}


@pytest.mark.parametrize("fourcc", ["XR24", "AR24", "XB24", "AB24"])
@pytest.mark.parametrize("y0_top", [0, 1])
def test_linear_dmabufs_are_read_on_the_cpu(session, artifacts, tmp_path, fourcc, y0_top):
    with streamed_peer(session, artifacts, tmp_path, name="dmabuf") as run:
        result, picture = run.send(f"scanout-dmabuf width=64 height=40 fourcc={fourcc} "
                                   f"modifier=linear y0_top={y0_top} pattern=gradient")
        assert result["ok"], result
        run.wait_picture(picture, what=f"{fourcc} DMA-BUF y0_top={y0_top}")
        result, picture = run.send("update-dmabuf x=8 y=4 width=20 height=10 pattern=checker:2")
        assert result["ok"], result
        run.wait_picture(picture, what=f"{fourcc} DMA-BUF update")


def test_update_dmabuf_is_answered_after_rendering_and_in_bounded_time(session, artifacts,
                                                                       tmp_path):
    with streamed_peer(session, artifacts, tmp_path, name="pace") as run:
        result, _ = run.send("scanout-dmabuf width=64 height=40 fourcc=XR24 modifier=linear")
        assert result["ok"], result
        for i in range(20):
            result, picture = run.send(f"update-dmabuf x={i} y=0 width=8 height=8 "
                                       f"pattern=solid:{i * 12:02x}8000")
            # Answered without an error, as QEMU sees it (vmcast refuses with an error reply).
            assert result["ok"], result
            # QEMU gives up after 1 s and holds the guest's GL work until it hears back; vmcast
            # answers once the frame is rendered (one output tick), 100 ms at most.
            assert result["elapsed_us"] < 500_000, result
        # The answer came after rendering: the last picture reaches the consumer.
        run.wait_picture(picture, what="picture of the last answered update")


def test_tiled_dmabuf_shows_a_placeholder_without_a_gpu(session, artifacts, tmp_path):
    with streamed_peer(session, artifacts, tmp_path, name="tiled") as run:
        result, picture = run.send("scanout width=32 height=32 pattern=gradient")
        assert result["ok"], result
        run.wait_picture(picture, what="picture before the tiled buffer")
        # I915_FORMAT_MOD_X_TILED: only the GPU can lay these pixels out; the CPU must not
        # show them as if they were rows.
        for _ in range(3):
            tiled = run.peer.command("scanout-dmabuf width=64 height=48 fourcc=XR24 "
                                     "modifier=0x0100000000000001 pattern=random:5")
            assert tiled["ok"], tiled
            update = run.peer.command("update-dmabuf x=0 y=0 width=64 height=48")
            assert update["ok"], update

        def stripes_shown() -> bool:
            if not run.consumer.pictures or run.consumer.pictures[-1]["width"] != 64:
                return False
            image = run.consumer.latest_image()
            return image.pixel(0, 0) == (0x30, 0x30, 0x30) and image.pixel(20, 0) == (0x50,) * 3

        wait_for(stripes_shown, timeout=10, what="a grey striped placeholder")
        warnings = [line for line in run.vmcast_log().splitlines()
                    if "warning" in line and "tiled DMA-BUFs" in line]
        assert len(warnings) == 1, warnings
        run.assert_alive()


def test_size_change_without_scanout_resizes_the_stream(session, artifacts, tmp_path):
    with streamed_peer(session, artifacts, tmp_path, name="resize") as run:
        result, picture = run.send("scanout width=64 height=48 pattern=gradient")
        assert result["ok"], result
        run.wait_picture(picture, what="first size")
        # QEMU 7.2's VGA text-mode switch: only Console.Width/Height change. A smaller size is
        # taken at once.
        result, picture = run.send("set-size width=56 height=40")
        assert result["ok"], result
        run.wait_picture(picture, what="smaller size from the console properties")
        # A larger one waits for the first update that needs the room, then takes that size.
        result, _ = run.send("set-size width=80 height=40")
        assert result["ok"], result
        result, picture = run.send("update x=56 y=0 width=24 height=8 pattern=solid:0000ff")
        assert result["ok"], result
        run.wait_picture(picture, what="larger size once an update needs it")
        # An update reaching past the announced size grows the picture to cover it.
        result, picture = run.send("update x=70 y=30 width=20 height=20 pattern=solid:00ff00")
        assert result["ok"], result
        wait_for(lambda: run.consumer.pictures and
                 (run.consumer.pictures[-1]["width"], run.consumer.pictures[-1]["height"]) ==
                 (90, 50), timeout=15, what="the stream growing to 90x50")
        sizes = {(f["width"], f["height"]) for f in run.consumer.formats}
        assert {(64, 48), (56, 40), (80, 40), (90, 50)} <= sizes, sizes


def test_announced_size_alone_costs_no_memory(session, artifacts, tmp_path):
    with streamed_peer(session, artifacts, tmp_path, name="bigsize") as run:
        result, picture = run.send("scanout width=64 height=48 pattern=gradient")
        assert result["ok"], result
        run.wait_picture(picture, what="picture before the announcement")
        # A console size with no picture behind it (QEMU announces it before the Scanout that
        # vmcast may refuse): 16384x16384 would be a 1 GiB picture and 8 GiB of buffers.
        result, _ = run.send("set-size width=16384 height=16384")
        assert result["ok"], result
        run.wait_picture(picture, timeout=5, what="picture after the announcement")
        assert all(f["width"] <= 64 for f in run.consumer.formats), run.consumer.formats

def test_every_console_registers_while_qemu_blocks_on_another(session, tmp_path):
    """QEMU handshakes with a new listener synchronously in its main loop, so vmcast must never
    wait on QEMU while it does: a synchronous call from vmcast for the next console used to
    deadlock both until D-Bus's 25 s call timeout, once per console."""
    vmcast_bin = os.environ.get("VMCAST_BIN")
    if not vmcast_bin or not os.environ.get("VMCAST_FAKE_QEMU_BIN"):
        pytest.skip("VMCAST_BIN or VMCAST_FAKE_QEMU_BIN not set")
    consoles = 4
    with FakeQemu(session.env, name="heads", consoles=consoles) as peer:
        session.spawn([vmcast_bin, "run", "--verbose"], name="vmcast")
        # Far below the 25 s the deadlock cost for each console, far above a normal handshake.
        for index in range(consoles):
            peer.wait_listener(console=index, timeout=8)
        registrations = peer.events("listener")
        assert sorted(event["console"] for event in registrations) == list(range(consoles))
        for event in registrations:
            assert event["getall_us"] < 5_000_000, event
        last = consoles - 1
        assert peer.command(f"scanout console={last} width=64 height=48 pattern=solid:ff00ff00",
                            timeout=15)["ok"]
        with FrameConsumer(session, f"vmcast.heads.{last}", tmp_path / "last.frame") as consumer:
            wait_for(lambda: bool(consumer.pictures), timeout=15,
                     what=f"a picture from console {last}")
            assert consumer.latest_image().pixel(10, 10) == (0, 255, 0)
