"""DMA-BUF export to consumers: PipeWire's modifier negotiation (every renderable modifier
offered with DONT_FIXATE, the consumer's candidates test-allocated and the one that allocates
announced as a fixed format; a modifier that fails is dropped, and a consumer left without one
in common gets shared memory) and frames rendered straight into the consumer's buffers.

These machines have no GPU, so vmcast runs with VMCAST_TEST_MEMFD_DMABUFS=1: its allocator
hands out memfds as LINEAR DMA-BUFs (pixman renders into them) and also lists an X-tiled
modifier that never allocates. Everything else is real: PipeWire's negotiation, DmaBuf buffer
data, and a consumer that maps the planes it is given."""
from __future__ import annotations

import sys

from peer_streaming import streamed_peer
from vmcast_testlib import wait_for
from vmcast_testlib.consumer import FrameConsumer

MEMFD_DMABUFS = {"VMCAST_TEST_MEMFD_DMABUFS": "1"}
LINEAR = "0"
X_TILED = "100000000000001"  # I915_FORMAT_MOD_X_TILED
INVALID = "ffffffffffffff"


def dmabuf_consumer(session, tmp_path, name, modifiers, fmt="BGRx"):
    return FrameConsumer(session, f"vmcast.{name}.0", tmp_path / f"{name}.frame", fmt=fmt,
                         extra_args=["--modifiers", ",".join(modifiers)])


def dmabuf_offers(session, name) -> set[tuple[str, int, tuple[int, int]]]:
    """(format, modifier, size) of each DMA-BUF format that vmcast's node offers for the link to
    fix, as any PipeWire client reads its EnumFormat params (here through pw-dump). The format
    vmcast already fixed (a plain modifier, not a choice) is left out."""
    node = session.find_node(f"vmcast.{name}.0")
    assert node is not None, f"no node vmcast.{name}.0"
    offers = set()
    for param in node["info"]["params"].get("EnumFormat", []):
        modifier = param.get("modifier")
        if isinstance(modifier, dict):  # an Enum choice: its values are alt1, alt2, ...
            size = (param["size"]["width"], param["size"]["height"])
            offers |= {(param["format"], value, size) for key, value in modifier.items()
                       if key.startswith("alt")}
    return offers


def test_a_dmabuf_consumer_gets_frames_rendered_into_its_buffers(session, artifacts, tmp_path):
    with streamed_peer(session, artifacts, tmp_path, name="dmabuf", with_consumer=False,
                       vmcast_env=MEMFD_DMABUFS) as run:
        result, picture = run.send("scanout width=64 height=48 pattern=checker")
        assert result["ok"], result
        with dmabuf_consumer(session, tmp_path, "dmabuf", [X_TILED, LINEAR, INVALID]) as consumer:
            run.consumer = consumer
            run.wait_picture(picture, what="first picture")
            assert consumer.formats[-1]["modifier"] == 0, consumer.formats
            assert consumer.formats[-1]["fixated"], consumer.formats
            assert consumer.pictures[-1]["data_type"] == "DmaBuf", consumer.pictures[-1]
            # The DONT_FIXATE round trip: PipeWire first set a format whose modifier was still
            # open, then the one vmcast fixed.
            assert not consumer.formats[0]["fixated"], consumer.formats
            # X-tiled and LINEAR for each of the four formats, or for BGRx alone: vmcast offers
            # only what every linked consumer takes, once it has read the consumer's formats,
            # which may be before or after it fixed the modifier.
            offers = dmabuf_offers(session, "dmabuf")
            formats = {fmt for fmt, _, _ in offers}
            assert formats in ({"BGRx", "BGRA", "RGBx", "RGBA"}, {"BGRx"}), offers
            assert offers == {(fmt, int(modifier, 16), (64, 48)) for fmt in formats
                              for modifier in (X_TILED, LINEAR)}, offers
            log = run.vmcast_log()
            # The consumer takes X-tiled and LINEAR of those (not INVALID); the allocator picks.
            assert ("fixing the BGRx 64x48 DMA-BUF modifier at 0x0000000000000000 "
                    "(test-allocated among 2 the consumer takes)") in log
            assert "streaming BGRx 64x48 as DMA-BUFs (modifier 0x0000000000000000)" in log

            # Damage reaches the buffers rendered earlier as well (per-buffer damage history).
            for i in range(12):
                result, picture = run.send(f"update x={i * 4} y={i * 3} width=8 height=6 "
                                           f"pattern=solid:{i * 20:02x}80ff")
                assert result["ok"], result
            run.wait_picture(picture, what="picture after updates")

            # A new size is a new negotiation, and again DMA-BUFs.
            result, picture = run.send("scanout width=80 height=40 pattern=gradient")
            assert result["ok"], result
            run.wait_picture(picture, what="resized picture")
            assert consumer.pictures[-1]["data_type"] == "DmaBuf", consumer.pictures[-1]
            consumer.assert_no_bad_buffers()
        run.assert_alive()


def test_the_first_dmabuf_consumer_gets_filled_buffers_in_its_byte_order(make_session, artifacts,
                                                                        tmp_path):
    # PipeWire 0.3.65 matches the answer to its producer-allocated buffer set by sequence number
    # against anything the producer's node answers. When WirePlumber read the new format at the
    # wrong moment, PipeWire gave the consumer the buffers before vmcast had filled them in.
    # That happens to young connections on a busy machine, so: fresh daemons each time, with
    # the CPUs kept busy. vmcast now keeps those answers cached (ParamCacheWarmer). A weak
    # guard: it takes equal message numbers, so how often it fails without the fix depends on
    # how many messages vmcast's connection has seen (without ParamCacheWarmer at all it
    # failed 3 runs of 4).
    for attempt in range(10):
        session = make_session()
        for _ in range(4):
            session.spawn([sys.executable, "-c", "while True: pass"], name="busy")
        name = f"first{attempt}"
        with streamed_peer(session, artifacts, tmp_path, name=name, with_consumer=False,
                           vmcast_env=MEMFD_DMABUFS) as run:
            result, picture = run.send("scanout width=32 height=32 pattern=gradient")
            assert result["ok"], result
            with dmabuf_consumer(session, tmp_path, name, [LINEAR], fmt="RGBA") as consumer:
                run.consumer = consumer
                run.wait_picture(picture, what=f"picture of session {attempt}")
                assert consumer.formats[-1]["format"] == "RGBA", consumer.formats
                assert consumer.pictures[-1]["data_type"] == "DmaBuf", consumer.pictures[-1]
                consumer.assert_no_bad_buffers()
        assert "invalid memory type" not in session.log_path("pipewire", "stderr").read_text()
        session.close()


def test_a_shared_memory_consumer_joining_a_dmabuf_stream_gets_shared_memory(session, artifacts,
                                                                             tmp_path):
    # PipeWire 0.3.65 hands a consumer that joins a running stream the running format, even a
    # DMA-BUF one it did not offer (the web publisher, pipewiresrc with plain caps). vmcast reads
    # each linked consumer's formats and withdraws what one of them cannot take.
    with streamed_peer(session, artifacts, tmp_path, name="mixed", with_consumer=False,
                       vmcast_env=MEMFD_DMABUFS) as run:
        result, picture = run.send("scanout width=64 height=48 pattern=checker")
        assert result["ok"], result
        with dmabuf_consumer(session, tmp_path, "mixed", [LINEAR]) as gpu_consumer:
            run.consumer = gpu_consumer
            run.wait_picture(picture, what="DMA-BUF picture")
            assert gpu_consumer.pictures[-1]["data_type"] == "DmaBuf", gpu_consumer.pictures[-1]

            with FrameConsumer(session, "vmcast.mixed.0", tmp_path / "shm.frame") as shm_consumer:
                run.consumer = shm_consumer
                run.wait_picture(picture, what="joiner's picture")
                wait_for(lambda: shm_consumer.formats[-1]["modifier"] is None, timeout=10,
                         what="the joiner negotiated to shared memory")
                result, picture = run.send("update x=8 y=8 width=16 height=16 "
                                           "pattern=solid:20c040ff")
                assert result["ok"], result
                run.wait_picture(picture, what="joiner's picture after an update")
                assert shm_consumer.pictures[-1]["data_type"] in ("MemFd", "MemPtr")
                shm_consumer.assert_no_bad_buffers()
                # The first consumer shares the stream, so it is on shared memory too.
                run.consumer = gpu_consumer
                run.wait_picture(picture, what="first consumer's picture beside the joiner")
                assert gpu_consumer.pictures[-1]["data_type"] in ("MemFd", "MemPtr")
            assert "withdrawing DMA-BUF" in run.vmcast_log()

            # The joiner left: DMA-BUFs are offered again and the first consumer takes them.
            wait_for(lambda: gpu_consumer.formats[-1]["modifier"] == 0, timeout=10,
                     what="the first consumer back on DMA-BUFs")
            result, picture = run.send("update x=20 y=4 width=8 height=8 pattern=solid:ff2020ff")
            assert result["ok"], result
            run.wait_picture(picture, what="DMA-BUF picture after the joiner left")
            assert gpu_consumer.pictures[-1]["data_type"] == "DmaBuf", gpu_consumer.pictures[-1]
            gpu_consumer.assert_no_bad_buffers()
        run.assert_alive()


def test_gstreamer_pipewiresrc_gets_dmabufs_through_the_round_trip(session, artifacts, tmp_path):
    # PipeWire's own GStreamer source, with DMA-BUF caps, offers its modifiers (INVALID and
    # LINEAR) flagged DONT_FIXATE: a real third-party consumer of the round trip.
    with streamed_peer(session, artifacts, tmp_path, name="gstdma", with_consumer=False,
                       vmcast_env=MEMFD_DMABUFS) as run:
        result, _ = run.send("scanout width=64 height=48 pattern=checker")
        assert result["ok"], result
        argv = ["gst-launch-1.0", "-v", "pipewiresrc", "target-object=vmcast.gstdma.0",
                "num-buffers=3", "!", "video/x-raw(memory:DMABuf)", "!", "fakesink"]
        res = session.run(argv, timeout=30)
        assert res.returncode == 0, f"gst-launch-1.0 failed:\n{res.stdout}\n{res.stderr}"
        assert ("caps = video/x-raw(memory:DMABuf), format=(string)BGRx, width=(int)64, "
                "height=(int)48") in res.stdout, res.stdout
        log = run.vmcast_log()
        # The stand-in allocator renders no INVALID (implicit) layout: LINEAR is the candidate.
        assert ("fixing the BGRx 64x48 DMA-BUF modifier at 0x0000000000000000 "
                "(test-allocated among 1 the consumer takes)") in log, log
        assert "streaming BGRx 64x48 as DMA-BUFs (modifier 0x0000000000000000)" in log, log
        run.assert_alive()


def test_dmabuf_consumers_coming_and_going_each_get_their_modifier_fixed(session, artifacts,
                                                                        tmp_path):
    # A consumer that joins just after another left used to find vmcast's node idle with the
    # old format. PipeWire 0.3.65 then suspends the node in the middle of the new link's
    # negotiation and cannot take vmcast's answer to the unfixed modifier: the consumer got
    # no picture. vmcast now suspends its node as soon as the last consumer leaves. The
    # consumers alternate pixel formats, so each one needs its own fixation round trip.
    with streamed_peer(session, artifacts, tmp_path, name="relay", with_consumer=False,
                       vmcast_env=MEMFD_DMABUFS) as run:
        result, picture = run.send("scanout width=48 height=32 pattern=checker")
        assert result["ok"], result
        for attempt in range(6):
            fmt = ("BGRx", "RGBA")[attempt % 2]
            with dmabuf_consumer(session, tmp_path, "relay", [LINEAR], fmt=fmt) as consumer:
                run.consumer = consumer
                run.wait_picture(picture, what=f"{fmt} picture of consumer {attempt}")
                assert consumer.formats[-1]["format"] == fmt, consumer.formats
                # Its own round trip: PipeWire set the open modifier first, then vmcast's fix.
                assert not consumer.formats[0]["fixated"], consumer.formats
                assert consumer.formats[-1]["fixated"], consumer.formats
                assert consumer.formats[-1]["modifier"] == 0, consumer.formats
                assert consumer.pictures[-1]["data_type"] == "DmaBuf", consumer.pictures[-1]
                consumer.assert_no_bad_buffers()
        run.assert_alive()


def test_two_dmabuf_consumers_both_follow_each_resize(session, artifacts, tmp_path):
    # Each new size takes a DONT_FIXATE round trip while two links share vmcast's port: the
    # first link's unfixed format gets vmcast's fixed answer, which renegotiates both links.
    with streamed_peer(session, artifacts, tmp_path, name="dmaresize", with_consumer=False,
                       vmcast_env=MEMFD_DMABUFS) as run:
        result, picture = run.send("scanout width=64 height=48 pattern=checker")
        assert result["ok"], result
        with dmabuf_consumer(session, tmp_path, "dmaresize", [LINEAR]) as first:
            run.consumer = first
            run.wait_picture(picture, what="first consumer's picture")
            with FrameConsumer(session, "vmcast.dmaresize.0", tmp_path / "second.frame",
                               extra_args=["--modifiers", LINEAR]) as second:
                run.consumer = second
                run.wait_picture(picture, what="second consumer's picture")
                for size in range(6):
                    width, height = 40 + 8 * size, 30 + 6 * (size % 3)
                    run.resize_and_wait((("first", first), ("second", second)), width, height)
                    for consumer in (first, second):
                        assert consumer.pictures[-1]["data_type"] == "DmaBuf", consumer.pictures
                first.assert_no_bad_buffers()
                second.assert_no_bad_buffers()
            assert f"fixing the BGRx {width}x{height} DMA-BUF modifier" in run.vmcast_log()
        run.assert_alive()


def test_a_modifier_that_does_not_allocate_is_dropped(session, artifacts, tmp_path):
    with streamed_peer(session, artifacts, tmp_path, name="tiled", with_consumer=False,
                       vmcast_env=MEMFD_DMABUFS) as run:
        result, picture = run.send("scanout width=64 height=48 pattern=checker")
        assert result["ok"], result
        # X-tiled is listed as renderable but its test allocation fails: vmcast drops it and
        # offers again; nothing left in common, and the consumer falls back to shared memory.
        with dmabuf_consumer(session, tmp_path, "tiled", [X_TILED]) as consumer:
            run.consumer = consumer
            run.wait_picture(picture, what="fallback picture")
            assert consumer.formats[-1]["modifier"] is None, consumer.formats
            assert consumer.pictures[-1]["data_type"] in ("MemFd", "MemPtr")
        # What the node offers from then on: X-tiled BGRx is gone, LINEAR stays. (Its formats
        # change while that consumer is linked, hence the wait.)
        offers = {}

        def dropped() -> bool:
            offers["now"] = dmabuf_offers(session, "tiled")
            return (("BGRx", int(X_TILED, 16), (64, 48)) not in offers["now"] and
                    ("BGRx", int(LINEAR, 16), (64, 48)) in offers["now"])
        try:
            wait_for(dropped, timeout=10, what="X-tiled BGRx dropped, LINEAR still offered")
        except AssertionError as exc:
            raise AssertionError(f"{exc}; offers: {sorted(offers.get('now', ()))}") from None
        # The next consumer renegotiates the stream from shared memory to LINEAR DMA-BUFs.
        with dmabuf_consumer(session, tmp_path, "tiled", [LINEAR]) as consumer:
            run.consumer = consumer
            run.wait_picture(picture, what="picture after the drop")
            assert consumer.pictures[-1]["data_type"] == "DmaBuf", consumer.pictures[-1]


def test_without_a_gpu_only_shared_memory_is_offered(session, artifacts, tmp_path):
    with streamed_peer(session, artifacts, tmp_path, name="cpuonly", with_consumer=False) as run:
        result, picture = run.send("scanout width=64 height=48 pattern=checker")
        assert result["ok"], result
        with dmabuf_consumer(session, tmp_path, "cpuonly", [LINEAR, INVALID]) as consumer:
            run.consumer = consumer
            run.wait_picture(picture, what="shared memory picture")
            assert consumer.formats[-1]["modifier"] is None, consumer.formats
            # Not even offered: the node's formats carry no modifier at all.
            node = session.find_node("vmcast.cpuonly.0")
            formats = node["info"]["params"].get("EnumFormat", [])
            assert formats and not any("modifier" in f for f in formats), formats
