"""A stateful hostile QEMU: the fake peer's `hostile` command sends random but well-typed
listener calls for a while (sizes, strides, formats and rects valid and not, updates before
scanouts, memfds shrunk under vmcast's mappings or closed early, cursor and MouseSet storms,
DMA-BUF and Map interleaved, consoles resized and leaving the ObjectManager), then one valid
Scanout. vmcast must stay up, answer every call, show the final frame exactly, and hold no more
fds or heap than before. (bench/hostile also holds its answers to QEMU's 1 s timeout.) One fixed seed and one random seed (the
output says which: `hostile seed=N` replays a run)."""
from __future__ import annotations

from hostile_run import check_hostile_round, hostile_round
from peer_streaming import streamed_peer
from vmcast_testlib import MEASURABLE_HEAP_ENV, process_usage, uses_address_sanitizer, wait_for

INVALID = "org.qemu.Display1.Error.Invalid"
SECONDS = 10  # per seed: the whole test stays under a minute under AddressSanitizer
FIXED_SEED = 23
FD_SLACK = 2
HEAP_SLACK_KIB = 4096


def check_refused_then_shown(run, result: dict, next_scanout: str, what: str) -> None:
    """The call was refused as invalid, vmcast is up, and the next Scanout reaches the consumer."""
    assert not result["ok"] and result.get("error") == INVALID, result
    run.assert_alive()
    result, fresh = run.send(next_scanout)
    assert result["ok"], result
    run.wait_picture(fresh, what=what)


def test_vmcast_survives_a_hostile_peer_and_shows_its_final_frame(session, artifacts, tmp_path):
    with streamed_peer(session, artifacts, tmp_path, name="hostile", version="10.1",
                       vmcast_env=MEASURABLE_HEAP_ENV) as run:
        result, picture = run.send("scanout width=320 height=240 pattern=gradient")
        assert result["ok"], result
        run.wait_picture(picture, what="first picture")
        heap_before, fds_before = process_usage(run.vmcast.pid)

        for seed in (FIXED_SEED, None):
            check_hostile_round(run, hostile_round(run, SECONDS, seed))

        wait_for(lambda: process_usage(run.vmcast.pid)[1] <= fds_before + FD_SLACK, timeout=10,
                 what=f"vmcast's fds back to {fds_before} (now {process_usage(run.vmcast.pid)[1]})")
        heap_after = process_usage(run.vmcast.pid)[0]
        if not uses_address_sanitizer(run.vmcast.pid):
            assert heap_after - heap_before < HEAP_SLACK_KIB, (
                f"vmcast's heap grew from {heap_before} to {heap_after} KiB")
        assert run.consumer.alive(), run.consumer.describe()


def test_a_dmabuf_shrunk_under_vmcast_is_refused(session, artifacts, tmp_path):
    """Found by the hostile peer: QEMU may pass any fd as a DMA-BUF, and vmcast's CPU path read
    a memfd shrunk under its mapping and died of SIGBUS."""
    with streamed_peer(session, artifacts, tmp_path, name="shrunk") as run:
        result, picture = run.send("scanout-dmabuf width=64 height=48 sealed=0 pattern=gradient")
        assert result["ok"], result
        run.wait_picture(picture, what="DMA-BUF picture")
        assert run.peer.command("truncate-dmabuf size=100", check=True)["ok"]
        result = run.peer.command("update-dmabuf x=0 y=0 width=64 height=48", timeout=15)
        check_refused_then_shown(run, result, "scanout width=64 height=48 pattern=checker:4",
                                 what="picture after the shrunk DMA-BUF")


def test_a_cursor_moved_to_the_ends_of_int32_keeps_vmcast_up(session, artifacts, tmp_path):
    """Found by the hostile peer under UBSan (seed 23): MouseSet at INT32_MIN overflowed the
    cursor's corner (x - hot_x); the bad-input suite runs under the sanitizers in CI."""
    with streamed_peer(session, artifacts, tmp_path, name="far") as run:
        result, picture = run.send("scanout width=64 height=48 pattern=gradient")
        assert result["ok"], result
        run.wait_picture(picture, what="first picture")
        assert run.peer.command("cursor width=16 height=16 hot_x=15 hot_y=15", check=True)["ok"]
        for x, y in ((-2147483648, -2147483648), (2147483647, 2147483647), (-2147483648, 0)):
            assert run.peer.command(f"mouse-set x={x} y={y}", check=True)["ok"]
        run.assert_alive()
        result, fresh = run.send("scanout width=64 height=48 pattern=checker:4")
        assert result["ok"], result
        run.wait_picture(fresh, what="picture after the far cursor")
        run.assert_alive()


def test_an_update_that_would_grow_the_surface_past_the_pixel_limit_is_refused(
        session, artifacts, tmp_path):
    """Found by the hostile peer (seed 6951526319447536726): an Update at 10845,11817 grew the
    surface to 10976x14205, 623 MB a picture. PipeWire failed to allocate the consumer's 8
    buffers of it, the link stayed broken through every later size, and the consumer showed a
    frozen picture. Each side is within 16384; the pixel count is not."""
    with streamed_peer(session, artifacts, tmp_path, name="grown") as run:
        result, picture = run.send("scanout width=64 height=48 pattern=gradient")
        assert result["ok"], result
        run.wait_picture(picture, what="first picture")
        result = run.peer.command("update x=10845 y=11817 width=131 height=2388", timeout=60)
        check_refused_then_shown(run, result, "scanout width=320 height=240 pattern=checker:4",
                                 what="picture after the refused update")
