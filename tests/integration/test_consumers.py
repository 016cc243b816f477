"""Consumers coming and going: one that joins a still screen while another is watching gets
the picture at once; one that keeps every buffer and leaves does not starve the next; many
connects and disconnects leave vmcast's file descriptors, mappings and memory where they were."""
from __future__ import annotations

import os
import time

from peer_streaming import streamed_peer
from vmcast_testlib import compare, read_vmcast_frame, uses_address_sanitizer, wait_for
from vmcast_testlib.consumer import FrameConsumer


def open_fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def mappings(pid: int) -> int:
    with open(f"/proc/{pid}/maps") as maps:
        return sum(1 for _ in maps)


def resident_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError(f"no VmRSS for process {pid}")


def test_second_consumer_of_a_still_screen_gets_the_picture(session, artifacts, tmp_path):
    with streamed_peer(session, artifacts, tmp_path, name="second") as run:
        result, picture = run.send("scanout width=80 height=60 pattern=gradient")
        assert result["ok"], result
        run.wait_picture(picture, what="picture for the first consumer")
        expected = read_vmcast_frame(picture)
        with FrameConsumer(session, "vmcast.second.0", tmp_path / "second.frame") as second:
            second.wait_pictures(1, timeout=5)
            assert compare(second.latest_image(), expected).equal
        # The first consumer keeps working.
        result, picture = run.send("update x=0 y=0 width=10 height=10 pattern=solid:ff00ff")
        assert result["ok"], result
        run.wait_picture(picture, what="picture after the second consumer left")


def test_two_consumers_both_follow_each_resize(session, artifacts, tmp_path):
    # A new size renegotiates every link of the stream at once. PipeWire 0.3.65 can leave a
    # link that is still allocating when another one finishes without buffers, its consumer
    # frozen; vmcast pauses the stream around each renegotiation so that cannot happen.
    with streamed_peer(session, artifacts, tmp_path, name="tworesize") as run:
        first = run.consumer
        result, picture = run.send("scanout width=64 height=48 pattern=checker")
        assert result["ok"], result
        run.wait_picture(picture, what="first consumer's picture")
        with FrameConsumer(session, "vmcast.tworesize.0", tmp_path / "second.frame") as second:
            run.consumer = second
            run.wait_picture(picture, what="second consumer's picture")
            for size in range(12):
                run.resize_and_wait((("first", first), ("second", second)),
                                    48 + 8 * (size % 4), 32 + 4 * size)
            first.assert_no_bad_buffers()
            second.assert_no_bad_buffers()
        run.assert_alive()


def links_from(session, node_id: int) -> list[dict]:
    return [o for o in session.pw_dump() if o.get("type") == "PipeWire:Interface:Link"
            and (o.get("info") or {}).get("output-node-id") == node_id]


def identity(node: dict) -> tuple:
    return node["id"], node["info"]["props"].get("object.serial")


def test_consumer_keeping_every_buffer_does_not_starve_the_next(session, artifacts, tmp_path):
    with streamed_peer(session, artifacts, tmp_path, name="hoard") as run:
        run.consumer.stop()
        result, _ = run.send("scanout width=64 height=48 pattern=gradient")
        assert result["ok"], result
        node = session.find_node("vmcast.hoard.0")
        maps_before = mappings(run.vmcast.pid)
        with FrameConsumer(session, "vmcast.hoard.0", tmp_path / "hoard.frame",
                           extra_args=["--hold-buffers"]) as hoarder:
            hoarder.wait_pictures(1, timeout=10)
            for i in range(12):
                # One frame each: updates within one output tick would merge into one frame.
                run.peer.command(f"update x={i} y=0 width=4 height=4 pattern=solid:{i:02x}0000")
                time.sleep(0.05)
            wait_for(lambda: len(hoarder.pictures) >= 8, timeout=10,
                     what="the hoarding consumer holding 8 buffers")
            run.assert_alive()
        # vmcast gives up the lost buffers by suspending its node as soon as the hoarder's link
        # is gone, which frees the buffer set: vmcast unmaps it. WirePlumber would suspend the
        # idle node too, but only 5 s later.
        wait_for(lambda: not links_from(session, node["id"]), timeout=2, interval=0.1,
                 what="the hoarder's link gone")
        try:
            wait_for(lambda: mappings(run.vmcast.pid) <= maps_before, timeout=3, interval=0.1,
                     what=f"vmcast's memory mappings back to {maps_before}")
        except AssertionError as exc:
            raise AssertionError(f"{exc} (now {mappings(run.vmcast.pid)}): the buffer set the "
                                 f"hoarder kept is still mapped") from None
        result, picture = run.send("update x=20 y=20 width=8 height=8 pattern=solid:00ffff")
        assert result["ok"], result
        with FrameConsumer(session, "vmcast.hoard.0", tmp_path / "after.frame") as after:
            after.wait_pictures(1, timeout=15)
            assert compare(after.latest_image(), read_vmcast_frame(picture)).equal
        # The node stays the same one (a new stream would get a new serial).
        assert identity(session.find_node("vmcast.hoard.0")) == identity(node)
        run.assert_alive()


def test_many_consumers_connect_and_disconnect(session, artifacts, tmp_path):
    with streamed_peer(session, artifacts, tmp_path, name="churn") as run:
        run.consumer.stop()
        result, picture = run.send("scanout width=64 height=48 pattern=checker")
        assert result["ok"], result
        expected = read_vmcast_frame(picture)
        fds_before = maps_before = rss_before = None
        for i in range(100):
            with FrameConsumer(session, "vmcast.churn.0", tmp_path / "churn.frame") as consumer:
                consumer.wait_pictures(1, timeout=10)
                assert compare(consumer.latest_image(), expected).equal, f"consumer {i}"
            if i == 4:  # after the first few, everything lazily created exists
                fds_before = open_fds(run.vmcast.pid)
                maps_before = mappings(run.vmcast.pid)
                rss_before = resident_kib(run.vmcast.pid)
        run.assert_alive()
        # Buffers and link proxies go away asynchronously, once PipeWire confirms.
        wait_for(lambda: open_fds(run.vmcast.pid) <= fds_before, timeout=10,
                 what=f"vmcast's file descriptors back to {fds_before} "
                      f"(now {open_fds(run.vmcast.pid)})")
        wait_for(lambda: mappings(run.vmcast.pid) <= maps_before, timeout=10,
                 what=f"vmcast's memory mappings back to {maps_before} "
                      f"(now {mappings(run.vmcast.pid)})")
        # Measured: 12 KiB more after 95 consumers. One buffer set (8 x 12 KiB here) kept per
        # consumer would add 9 MiB, one buffer each about 1 MiB. AddressSanitizer keeps freed
        # memory in quarantine (3 MiB more here), so its builds say nothing about this.
        growth = resident_kib(run.vmcast.pid) - rss_before
        if not uses_address_sanitizer(run.vmcast.pid):
            assert growth < 1024, f"vmcast's resident memory grew by {growth} KiB over 95 consumers"


def test_metadata_describes_each_frame(session, artifacts, tmp_path):
    with streamed_peer(session, artifacts, tmp_path, name="meta") as run:
        result, picture = run.send("scanout width=96 height=64 pattern=gradient")
        assert result["ok"], result
        run.wait_picture(picture, what="first picture")
        # The format: a variable rate up to --max-fps (default 60), and 8 buffers (the
        # producer's default within the consumer's 2..16).
        fmt = run.consumer.formats[-1]
        assert fmt["framerate"] == [0, 1] and fmt["max_framerate"] == [60, 1], fmt
        events = list(run.consumer.events)
        last_format = max(i for i, event in enumerate(events) if event["event"] == "format")
        buffers = [event for event in events[last_format:] if event["event"] == "add-buffer"]
        assert len(buffers) == 8, buffers
        time.sleep(1)  # past the whole-picture resends a new consumer gets
        start = len(run.consumer.pictures)
        result, picture = run.send("update x=10 y=20 width=16 height=8 pattern=solid:ff0000")
        assert result["ok"], result
        run.wait_picture(picture, what="picture after a small update")

        def covers_update(rect):
            x, y, w, h = rect
            return x <= 10 and y <= 20 and x + w >= 26 and y + h >= 28

        # The frame of the small update says so: damage covering it, and not much more.
        frame = wait_for(lambda: next((f for f in run.consumer.pictures[start:]
                                       if f["damage"] and any(map(covers_update, f["damage"]))),
                                      None), timeout=5, what="the small update's frame")
        assert sum(w * h for _, _, w, h in frame["damage"]) < 96 * 64 // 4, frame["damage"]
        assert frame["crop"] == [0, 0, 96, 64], frame
        frames = list(run.consumer.pictures)
        seqs = [f["seq"] for f in frames]
        assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs), seqs
        pts = [f["pts"] for f in frames]
        assert pts == sorted(pts) and all(p > 0 for p in pts), pts


def test_dmabuf_first_consumer_falls_back_to_shared_memory(session, artifacts, tmp_path):
    with streamed_peer(session, artifacts, tmp_path, name="dmafirst") as run:
        run.consumer.stop()
        result, picture = run.send("scanout width=64 height=48 pattern=checker")
        assert result["ok"], result
        with FrameConsumer(session, "vmcast.dmafirst.0", tmp_path / "dma.frame",
                           extra_args=["--dmabuf-first"]) as consumer:
            consumer.wait_pictures(1, timeout=10)
            assert consumer.formats[-1]["modifier"] is None, consumer.formats
            assert consumer.pictures[-1]["data_type"] in ("MemPtr", "MemFd")
            assert compare(consumer.latest_image(), read_vmcast_frame(picture)).equal


def burst_of_updates(run) -> tuple[int, float]:
    """Sends an update about every 10 ms for a second (sent at once, QEMU's updates would
    reach vmcast together and make one frame whatever the pacing), then a last one, and waits
    for the last state; returns the pictures the consumer got meanwhile and the seconds it
    took."""
    result, _ = run.send("scanout width=64 height=48 pattern=solid:000000")
    assert result["ok"], result
    run.consumer.wait_pictures(1, timeout=10)
    start = len(run.consumer.pictures)
    began = time.monotonic()
    for i in range(100):
        run.peer.command(f"update x={i % 60} y=0 width=2 height=2 "
                         f"pattern=solid:{i * 2:02x}ff00", timeout=10)
        time.sleep(0.01)
    result, last = run.send("update x=60 y=40 width=4 height=4 pattern=solid:0000ff")
    assert result["ok"], result
    run.wait_picture(last, what="the final state after a burst")
    return len(run.consumer.pictures) - start, time.monotonic() - began


def test_frames_are_paced_and_the_last_state_is_delivered(session, artifacts, tmp_path):
    with streamed_peer(session, artifacts, tmp_path, name="paced",
                       vmcast_args=["--max-fps", "10"]) as run:
        sent, elapsed = burst_of_updates(run)
        assert sent <= 10 * elapsed + 3, f"{sent} frames in {elapsed:.2f} s at --max-fps 10"


def test_a_consumer_that_asks_for_fewer_frames_gets_no_more(session, artifacts, tmp_path):
    # vmcast offers maxFramerate from 1/1 to --max-fps (60 here); a consumer that takes at
    # most 10/1 (as WebRTC's screen capture asks for its rate) paces the stream.
    with streamed_peer(session, artifacts, tmp_path, name="slower",
                       consumer_args=["--max-framerate", "10"]) as run:
        sent, elapsed = burst_of_updates(run)
        assert run.consumer.formats[-1]["max_framerate"] == [10, 1], run.consumer.formats
        assert sent <= 10 * elapsed + 3, f"{sent} frames in {elapsed:.2f} s for maxFramerate 10"


def test_list_shows_each_console_node_and_its_id(session, artifacts, tmp_path):
    with streamed_peer(session, artifacts, tmp_path, name="listed") as run:
        result, picture = run.send("scanout width=40 height=30 pattern=gradient")
        assert result["ok"], result
        run.wait_picture(picture, what="a picture, so the node exists")
        node = session.find_node("vmcast.listed.0")
        assert node is not None
        props = node["info"]["props"]
        assert props.get("vmcast.vm.name") == "listed", props
        assert props.get("vmcast.vm.uuid") == "00000000-0000-0000-0000-000000000000", props
        assert str(props.get("vmcast.console.index")) == "0", props
        assert props.get("media.role") == "Screen", props
        listing = session.run([os.environ["VMCAST_BIN"], "list"], timeout=30)
        assert listing.returncode == 0, listing.stderr
        assert f"node vmcast.listed.0 (id {node['id']})" in listing.stdout, listing.stdout
