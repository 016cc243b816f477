"""The fake peer's `stream` command, the benchmarks' load generator: frames sent as fast as vmcast
answers reach a real PipeWire consumer, each carrying its seq stamp where the benchmark reads
it, and the send times are written to the stamps file."""
from __future__ import annotations

from peer_streaming import streamed_peer
from vmcast_testlib import wait_for


def stamp_at(image, x: int, y: int) -> int:
    """The seq in the G channel of the 4 pixels from (x, y), low byte first."""
    return sum(image.pixel(x + i, y)[1] << (8 * i) for i in range(4))


def test_streamed_updates_reach_the_consumer_with_their_stamp(session, artifacts, tmp_path):
    with streamed_peer(session, artifacts, tmp_path, name="stream") as run:
        result = run.peer.command("scanout width=640 height=480 pattern=gradient", timeout=15)
        assert result["ok"], result
        stamps = tmp_path / "stamps.txt"
        result = run.peer.command(
            f"stream path=update region=small rate=0 frames=30 stamps={stamps}", timeout=30)
        assert result["ok"], result
        assert result["sent"] == 30 and result["errors"] == 0, result
        assert result["skipped"] == 0 and result["first_error"] is None, result
        x, y, w, h = result["region"]
        assert (x, y, w, h) == (320, 240, 64, 64), result

        rows = [line.split() for line in stamps.read_text().splitlines()]
        assert [int(seq) for seq, _ in rows] == list(range(1, 31)), rows
        times = [int(ns) for _, ns in rows]
        assert times == sorted(times), times

        def last_stamp_shown() -> bool:
            return bool(run.consumer.pictures) and stamp_at(run.consumer.latest_image(), x, y) == 30

        wait_for(last_stamp_shown, timeout=15, what="the consumer showing the stamp of seq 30")
        # The whole picture, not only the stamp: the peer's intended picture after the stream.
        picture = run.expected_path()
        result = run.peer.command(f"save path={picture}")
        assert result["ok"], result
        run.wait_picture(picture, what="picture after the stream")
        run.assert_alive()


def block_stamp_at(image, x: int, y: int) -> int:
    """The seq drawn by stamp=blocks: 16 blocks of 16x16 from (x, y), bit 0 first, white = 1."""
    return sum(1 << bit for bit in range(16) if image.pixel(x + bit * 16 + 8, y + 8)[1] > 128)


def test_block_stamps_for_video(session, artifacts, tmp_path):
    """stamp=blocks (the web page benchmark's, read back from decoded video) reaches the consumer
    as drawn: seq 0b1011011 after 91 frames of a scrolling screen."""
    with streamed_peer(session, artifacts, tmp_path, name="blocks") as run:
        assert run.peer.command("scanout width=320 height=200 pattern=gradient", timeout=15)["ok"]
        result = run.peer.command("stream region=scroll stamp=blocks rate=0 frames=91",
                                  timeout=30)
        assert result["ok"] and result["sent"] == 91, result
        wait_for(lambda: bool(run.consumer.pictures) and
                 block_stamp_at(run.consumer.latest_image(), 0, 0) == 91, timeout=15,
                 what="the consumer showing the block stamp of seq 91")
        bad = run.peer.command("stream stamp=dots frames=1", timeout=15)
        assert not bad["ok"] and "stamp: expected pixels or blocks" in bad["message"], bad
        run.assert_alive()
