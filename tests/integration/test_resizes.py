"""Quick size changes and consumers that stop reading, with the fake QEMU peer: every consumer ends
on the last picture, and one consumer that keeps every buffer does not freeze the others."""
from __future__ import annotations

import re
import time
from contextlib import contextmanager

from peer_streaming import streamed_peer
from vmcast_testlib import compare, read_vmcast_frame, wait_for
from vmcast_testlib.consumer import FrameConsumer
from vmcast_testlib.gst_consumer import GstConsumer


@contextmanager
def fast_and_slow(session, artifacts, tmp_path, name: str):
    """The peer streamed to a consumer and to one that gives each buffer back 200 ms late, both
    showing the first picture (64x48); yields (run, first picture's path, fast, slow)."""
    with streamed_peer(session, artifacts, tmp_path, name=name) as run:
        fast = run.consumer
        result, first = run.send("scanout width=64 height=48 pattern=gradient")
        assert result["ok"], result
        run.wait_picture(first, what="fast consumer's first picture")
        with FrameConsumer(session, f"vmcast.{name}.0", tmp_path / "slow.frame",
                           extra_args=["--slow", "200"]) as slow:
            run.consumer = slow
            run.wait_picture(first, what="slow consumer's first picture")
            yield run, fast, slow
            for consumer in (fast, slow):
                consumer.assert_no_bad_buffers()
        run.assert_alive()


def wait_both(run, fast, slow, picture: str) -> None:
    for which, consumer in (("fast", fast), ("slow", slow)):
        run.consumer = consumer
        run.wait_picture(picture, what=f"{which} consumer's last picture")


def test_a_size_and_back_within_one_frame_interval(session, artifacts, tmp_path):
    with fast_and_slow(session, artifacts, tmp_path, "flip") as (run, fast, slow):
        formats = (len(fast.formats), len(slow.formats))
        # Sent without waiting for the replies, as QEMU sends them: within a millisecond.
        assert run.peer.command("scanout width=120 height=90 pattern=checker nowait=1")["ok"]
        result, last = run.send("scanout width=64 height=48 pattern=solid:3366ff nowait=1")
        assert result["ok"], result
        wait_both(run, fast, slow, last)
        # The size they never saw cost them no renegotiation.
        assert (len(fast.formats), len(slow.formats)) == formats, (fast.formats, slow.formats)


def test_ten_resizes_in_a_second(session, artifacts, tmp_path):
    with fast_and_slow(session, artifacts, tmp_path, "tenresize") as (run, fast, slow):
        for i in range(10):
            result, last = run.send(f"scanout width={40 + 12 * i} height={30 + 7 * i} "
                                    f"pattern=random:{i}")
            assert result["ok"], result
            time.sleep(0.1)
        wait_both(run, fast, slow, last)
        assert fast.formats[-1]["width"] == slow.formats[-1]["width"] == 148


def test_a_size_that_never_settles_is_still_followed(session, artifacts, tmp_path):
    with streamed_peer(session, artifacts, tmp_path, name="unsettled") as run:
        result, first = run.send("scanout width=64 height=48 pattern=gradient")
        assert result["ok"], result
        run.wait_picture(first, what="first picture")
        formats = len(run.consumer.formats)
        # A new size every 150 ms for more than two seconds, never 300 ms at one size, nor
        # back at the consumer's.
        for i in range(16):
            result, last = run.send(f"scanout width={80 + 16 * (i % 2)} height=48 "
                                    f"pattern=random:{i}")
            assert result["ok"], result
            time.sleep(0.15)
        followed = len(run.consumer.formats) - formats
        run.wait_picture(last, what="the last picture")
        assert followed >= 1, "the consumer kept the first size while the console changed"
        run.consumer.assert_no_bad_buffers()
        run.assert_alive()


def send_frames(run, count: int, color: int) -> None:
    for i in range(count):
        # One frame each: updates within one output tick would merge into one frame.
        result = run.peer.command(f"update x={i % 60} y=0 width=4 height=4 "
                                  f"pattern=solid:{color:02x}{i:02x}00")
        assert result["ok"], result
        time.sleep(0.05)


def test_a_consumer_that_stops_reading_does_not_freeze_the_others(session, artifacts, tmp_path):
    with streamed_peer(session, artifacts, tmp_path, name="stopper") as run:
        reader = run.consumer
        result, first = run.send("scanout width=64 height=48 pattern=gradient")
        assert result["ok"], result
        run.wait_picture(first, what="reader's first picture")
        with FrameConsumer(session, "vmcast.stopper.0", tmp_path / "stopper.frame",
                           extra_args=["--stop-reading-after", "2"]) as stopper:
            stopper.wait_event("stopped-reading", timeout=15)
            # More frames than buffers: each goes to both consumers, and the stopped one
            # keeps every one it gets.
            send_frames(run, 12, 0x80)
            result, last = run.send("update x=30 y=30 width=8 height=8 pattern=solid:00ffff")
            assert result["ok"], result
            run.consumer = reader
            run.wait_picture(last, timeout=20, what="reader's picture after the other stopped")
            with FrameConsumer(session, "vmcast.stopper.0", tmp_path / "late.frame") as late:
                late.wait_pictures(1, timeout=20)
                assert compare(late.latest_image(), read_vmcast_frame(last)).equal
            # What vmcast promises: one warning naming the consumers that were running.
            warnings = re.findall(r"warning: vmcast\.stopper\.0: the consumers kept every "
                                  r"buffer.*", run.vmcast_log())
            assert len(warnings) == 1, warnings
            assert f"(pid {stopper.proc.pid})" in warnings[0], warnings[0]
            reader.assert_no_bad_buffers()
        run.assert_alive()


def test_pipewiresrc_stopped_by_a_resize_does_not_freeze_the_others(session, artifacts,
                                                                     tmp_path):
    # GStreamer's pipewiresrc in PipeWire 0.3.65 stops reading for good when its stream is
    # paused, which a renegotiation to a new size does.
    with streamed_peer(session, artifacts, tmp_path, name="gstresize") as run:
        result, first = run.send("scanout width=64 height=48 pattern=gradient")
        assert result["ok"], result
        run.wait_picture(first, what="first picture")
        gst = GstConsumer(session, "vmcast.gstresize.0", tmp_path / "gst")
        wait_for(gst.latest, 30, 0.3, what="pipewiresrc's first picture")
        result, resized = run.send("scanout width=96 height=64 pattern=checker")
        assert result["ok"], result
        run.wait_picture(resized, what="picture at the new size")
        send_frames(run, 12, 0x40)
        result, last = run.send("update x=40 y=40 width=8 height=8 pattern=solid:ff00ff")
        assert result["ok"], result
        run.wait_picture(last, timeout=20, what="picture after pipewiresrc stopped reading")
        with FrameConsumer(session, "vmcast.gstresize.0", tmp_path / "late.frame") as late:
            late.wait_pictures(1, timeout=20)
            assert compare(late.latest_image(), read_vmcast_frame(last)).equal
        run.consumer.assert_no_bad_buffers()
        run.assert_alive()
