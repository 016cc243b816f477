"""`vmcast run --camera`: next to each screen node, a camera node (vmcast.<vm>.<N>.camera) with
media.role Camera, BGRA or RGBA (opaque) at the console's size and a fixed frame rate, fed from
the same composited frames; while a consumer is linked it keeps its size and letterboxes a
resized console, and --camera-size fixes its size. Real PipeWire and WirePlumber, the fake QEMU
peer and real QEMU; consumers are GStreamer's pipewiresrc and vmcast-frame-consumer."""
from __future__ import annotations

import re
import signal
import subprocess

import pytest

from peer_streaming import streamed_peer
from test_real_qemu import Vmcast, assert_stream_matches, wait_pictures
from vmcast_testlib import Image, Qemu, compare, read_vmcast_frame, wait_for
from vmcast_testlib.consumer import FrameConsumer
from vmcast_testlib.gst_consumer import GstRawConsumer

NAME = "cam"
SCREEN = f"vmcast.{NAME}.0"
CAMERA = f"vmcast.{NAME}.0.camera"


def node_props(session, name: str) -> dict:
    node = wait_for(lambda: session.find_node(name), timeout=20, what=f"PipeWire node {name}")
    return node["info"]["props"]


def camera_counters(run) -> tuple[float, int] | None:
    """The cameras' MiB copied and buffers queued, from the frame path counters vmcast logs on
    SIGUSR1 (as a user reads them); None until the answer to this signal is logged."""
    before = run.vmcast_log().count("frame path so far")
    run.vmcast.send_signal(signal.SIGUSR1)

    def answered():
        log = run.vmcast_log()
        found = re.findall(r"frame path so far: .*; cameras: ([\d.]+) MiB copied, (\d+) buffers",
                           log)
        return found[-1] if log.count("frame path so far") > before and found else None
    mib, buffers = wait_for(answered, timeout=10, what="vmcast's counters")
    return float(mib), int(buffers)


def wait_gst_picture(gst: GstRawConsumer, expected_path: str, artifacts, what: str) -> dict:
    """Waits until the pipeline's newest frame equals the peer's picture with opaque alpha, and
    returns the caps it came with."""
    expected = read_vmcast_frame(expected_path)
    last: dict = {}

    def matches() -> bool:
        assert gst.alive(), f"gst-launch exited ({gst.proc.returncode})"
        image = gst.latest()
        last["image"] = image
        return (image is not None and image.size == expected.size and
                compare(image, expected).equal and set(image.alpha) == {255})

    try:
        wait_for(matches, timeout=20, what=f"pipewiresrc showing the {what}")
    except AssertionError:
        image = last.get("image")
        if image:
            artifacts.save_image(f"{what}-streamed", image)
        artifacts.save_image(f"{what}-expected", expected)
        detail = compare(image, expected).describe(image, expected) if image else "no picture"
        raise AssertionError(f"{what}: {detail}; caps {gst.caps()}") from None
    return gst.caps()


# libyuv's filters work in fixed point: a solid 255 can come out as 253.
SCALING_TOLERANCE = 4


def letterbox_mismatch(image: Image, picture: Image,
                       fitted: tuple[int, int, int, int]) -> str | None:
    """What is wrong with image as picture scaled into fitted (x, y, width, height), centred on
    opaque black bars; None when nothing is. Inside fitted, each pixel whose source pixel and
    its neighbours share one colour must have that colour (edges between colours blend)."""
    fx, fy, fw, fh = fitted
    if image.alpha is not None and set(image.alpha) != {255}:
        return "alpha is not opaque"
    checked = 0
    for y in range(image.height):
        sy = (y - fy + 0.5) * picture.height / fh - 0.5
        for x in range(image.width):
            pixel = image.pixel(x, y)
            if not (fx <= x < fx + fw and fy <= y < fy + fh):
                if pixel != (0, 0, 0):
                    return f"bar pixel ({x},{y}) is {pixel}, not black"
                continue
            sx = (x - fx + 0.5) * picture.width / fw - 0.5
            around = {picture.pixel(min(max(int(px), 0), picture.width - 1),
                                    min(max(int(py), 0), picture.height - 1))
                      for px in (sx - 1, sx, sx + 1, sx + 2) for py in (sy - 1, sy, sy + 1, sy + 2)}
            if len(around) != 1:
                continue
            colour = around.pop()
            if max(abs(a - b) for a, b in zip(pixel, colour)) > SCALING_TOLERANCE:
                return f"pixel ({x},{y}) is {pixel}, expected {colour} from the picture"
            checked += 1
    if checked < fw * fh // 2:
        return f"only {checked} of {fw}x{fh} pixels could be checked"
    return None


def wait_letterboxed(latest, expected_path: str, fitted, artifacts, what: str) -> None:
    """Waits until latest() (an Image or None) shows the peer's picture letterboxed."""
    expected = read_vmcast_frame(expected_path)
    last: dict = {}

    def matches() -> bool:
        image = latest()
        last["image"] = image
        last["why"] = letterbox_mismatch(image, expected, fitted) if image else "no picture"
        return last["why"] is None

    try:
        wait_for(matches, timeout=20, what=f"the camera showing the {what}")
    except AssertionError:
        if last.get("image"):
            artifacts.save_image(f"{what}-streamed", last["image"])
        artifacts.save_image(f"{what}-expected", expected)
        raise AssertionError(f"{what}: {last.get('why')}") from None


def show_two_halves(run, width: int, height: int, left: str, right: str) -> str:
    """A new console size, its left half one colour and its right half another: the picture's
    path."""
    result, _ = run.send(f"scanout width={width} height={height} pattern=solid:{left}")
    assert result["ok"], result
    result, picture = run.send(f"update x={width // 2} y=0 width={width - width // 2} "
                               f"height={height} pattern=solid:{right}")
    assert result["ok"], result
    return picture


def test_camera_node_has_the_properties_camera_pickers_look_for(session, artifacts, tmp_path):
    with streamed_peer(session, artifacts, tmp_path, name=NAME, vmcast_args=["--camera"],
                       with_consumer=False) as run:
        result, _ = run.send("scanout width=64 height=48 pattern=gradient")
        assert result["ok"], result
        camera = node_props(session, CAMERA)
        screen = node_props(session, SCREEN)
        assert camera["media.class"] == "Video/Source", camera
        assert camera["media.role"] == "Camera", camera
        assert camera["media.type"] == "Video", camera
        assert camera["media.category"] == "Capture", camera
        assert camera["node.description"].startswith(f"VM {NAME}, console 0"), camera
        assert camera["node.description"] == screen["node.description"]
        assert camera["media.name"] == screen["node.description"]
        assert camera["vmcast.node.kind"] == "camera", camera
        for key in ("vmcast.vm.name", "vmcast.vm.uuid", "vmcast.console.index"):
            assert camera[key] == screen[key], (key, camera, screen)
        # The screen node stays what it was.
        assert screen["media.role"] == "Screen", screen
        run.assert_alive()


def test_no_camera_node_without_the_option(session, artifacts, tmp_path):
    with streamed_peer(session, artifacts, tmp_path, name=NAME, with_consumer=False) as run:
        result, _ = run.send("scanout width=64 height=48 pattern=gradient")
        assert result["ok"], result
        node_props(session, SCREEN)
        names = {(n.get("info") or {}).get("props", {}).get("node.name")
                 for n in session.nodes()}
        assert not any(str(name).endswith(".camera") for name in names), names


@pytest.mark.parametrize("fmt", ["BGRA", "RGBA"])
def test_pipewiresrc_gets_the_picture_at_the_fixed_rate(session, artifacts, tmp_path, fmt):
    with streamed_peer(session, artifacts, tmp_path, name=NAME, vmcast_args=["--camera"],
                       with_consumer=False) as run:
        result, picture = run.send("scanout width=64 height=48 pattern=gradient")
        assert result["ok"], result
        node_props(session, CAMERA)
        gst = GstRawConsumer(session, CAMERA, tmp_path / "gst", fmt)
        caps = wait_gst_picture(gst, picture, artifacts, "scanout")
        assert caps["format"] == fmt and caps["framerate"] == "30/1", caps
        assert (caps["width"], caps["height"]) == ("64", "48"), caps
        result, picture = run.send("update x=5 y=3 width=13 height=7 pattern=random:7")
        assert result["ok"], result
        wait_gst_picture(gst, picture, artifacts, "update")
        # The screen stays still from here on; a camera keeps sending it.
        before = gst.pictures()
        wait_for(lambda: gst.pictures() >= before + 15, timeout=20,
                 what="frames coming on a still screen")
        assert gst.caps()["framerate"] == "30/1"
        run.assert_alive()


def test_camera_fps_sets_the_rate(session, artifacts, tmp_path):
    with streamed_peer(session, artifacts, tmp_path, name=NAME,
                       vmcast_args=["--camera", "--camera-fps", "12"], with_consumer=False) as run:
        result, picture = run.send("scanout width=32 height=16 pattern=gradient")
        assert result["ok"], result
        gst = GstRawConsumer(session, CAMERA, tmp_path / "gst", "BGRA")
        caps = wait_gst_picture(gst, picture, artifacts, "scanout")
        assert caps["framerate"] == "12/1", caps


def test_a_linked_camera_keeps_its_size_and_letterboxes_a_resize(session, artifacts, tmp_path):
    # Browsers' capturers and pipewiresrc stop for good when a linked camera renegotiates.
    with streamed_peer(session, artifacts, tmp_path, name=NAME, vmcast_args=["--camera"],
                       with_consumer=False) as run:
        result, picture = run.send("scanout width=64 height=48 pattern=gradient")
        assert result["ok"], result
        node_props(session, CAMERA)
        gst = GstRawConsumer(session, CAMERA, tmp_path / "gst", "RGBA")
        caps = wait_gst_picture(gst, picture, artifacts, "first size")
        # Wider: bars above and below. 80x40 in 64x48 is 64x32 at y 8.
        picture = show_two_halves(run, 80, 40, "ff0000", "0000ff")
        wait_letterboxed(gst.latest, picture, (0, 8, 64, 32), artifacts, "wider console")
        # Taller: bars left and right. 40x60 in 64x48 is 32x48 at x 16.
        picture = show_two_halves(run, 40, 60, "00ff00", "ffff00")
        wait_letterboxed(gst.latest, picture, (16, 0, 32, 48), artifacts, "taller console")
        assert gst.caps() == caps, (caps, gst.caps())
        before = gst.pictures()
        wait_for(lambda: gst.pictures() >= before + 15, timeout=20,
                 what="frames still coming after the resizes")
        assert gst.alive()
        run.assert_alive()


def test_after_its_consumers_left_the_camera_takes_the_consoles_size(session, artifacts, tmp_path):
    with streamed_peer(session, artifacts, tmp_path, name=NAME, vmcast_args=["--camera"],
                       with_consumer=False) as run:
        result, picture = run.send("scanout width=64 height=48 pattern=gradient")
        assert result["ok"], result
        camera = FrameConsumer(session, CAMERA, tmp_path / "camera.frame", fmt="BGRA")
        run.consumer = camera
        run.wait_picture(picture, what="first size")
        picture = show_two_halves(run, 80, 40, "00ffff", "ff00ff")
        wait_letterboxed(camera.latest_image, picture, (0, 8, 64, 32), artifacts,
                         "resize while linked")
        assert {(f["width"], f["height"]) for f in camera.formats} == {(64, 48)}, camera.formats
        camera.assert_no_bad_buffers()
        camera.stop()
        # The next consumer opens the camera at the console's size, with its exact picture.
        with FrameConsumer(session, CAMERA, tmp_path / "again.frame", fmt="BGRA") as again:
            run.consumer = again
            run.wait_picture(picture, what="console's size for the next consumer")
            result, picture = run.send("update x=70 y=30 width=10 height=10 pattern=solid:00ff00")
            assert result["ok"], result
            run.wait_picture(picture, what="update at the new size")
            assert {(f["width"], f["height"]) for f in again.formats} == {(80, 40)}, \
                again.formats
            assert all(f["format"] == "BGRA" and f["framerate"] == [30, 1]
                       for f in again.formats), again.formats
            assert set(read_vmcast_frame(again.dump_path).alpha) == {255}
            again.assert_no_bad_buffers()
        run.assert_alive()


@pytest.mark.parametrize("fmt", ["BGRA", "RGBA"])
def test_camera_size_fixes_the_size_and_letterboxes(session, artifacts, tmp_path, fmt):
    with streamed_peer(session, artifacts, tmp_path, name=NAME,
                       vmcast_args=["--camera", "--camera-size", "320x240"],
                       with_consumer=False) as run:
        # 2:1 in 4:3: 320x160 at y 40.
        picture = show_two_halves(run, 200, 100, "ff0000", "00ff00")
        gst = GstRawConsumer(session, CAMERA, tmp_path / "gst", fmt)
        wait_letterboxed(gst.latest, picture, (0, 40, 320, 160), artifacts, "fixed size")
        caps = gst.caps()
        assert (caps["width"], caps["height"], caps["format"]) == ("320", "240", fmt), caps
        # 1:2 in 4:3: 120x240 at x 100.
        picture = show_two_halves(run, 100, 200, "0000ff", "ffffff")
        wait_letterboxed(gst.latest, picture, (100, 0, 120, 240), artifacts, "fixed size resized")
        assert gst.caps() == caps, (caps, gst.caps())
        # A still screen is scaled once, not at each tick: the bytes copied stand still while
        # buffers go on being queued.
        last: dict = {}

        def still_while_queueing() -> bool:
            previous = last.get("counters")
            last["counters"] = camera_counters(run)
            return (previous is not None and last["counters"][0] == previous[0] and
                    last["counters"][1] >= previous[1] + 10)
        wait_for(still_while_queueing, timeout=30, interval=1,
                 what="a still letterboxed screen to cost no copies")
        assert gst.alive()
        run.assert_alive()


@pytest.mark.parametrize("size", ["321x240", "320x14", "8194x720", "1280", "x", "-2x4"])
def test_a_bad_camera_size_is_refused(vmcast_bin, size):
    res = subprocess.run([str(vmcast_bin), "--camera", "--camera-size", size, "run"],
                         capture_output=True, text=True, timeout=30)
    assert res.returncode == 2, f"exit {res.returncode}\n{res.stderr}"
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, res.stderr
    assert lines[0].startswith("vmcast: --camera-size: expected WIDTHxHEIGHT"), res.stderr


def test_screen_and_camera_consumers_each_get_their_own_format(session, artifacts, tmp_path):
    with streamed_peer(session, artifacts, tmp_path, name=NAME, vmcast_args=["--camera"],
                       with_consumer=False) as run:
        result, picture = run.send("scanout width=64 height=48 pattern=gradient")
        assert result["ok"], result
        with FrameConsumer(session, SCREEN, tmp_path / "screen.frame", fmt="any") as screen, \
                FrameConsumer(session, CAMERA, tmp_path / "camera.frame", fmt="any") as camera:
            for consumer in (screen, camera):
                run.consumer = consumer
                run.wait_picture(picture, what=f"{consumer.target} picture")
            result, picture = run.send("update x=8 y=8 width=20 height=20 pattern=random:3")
            assert result["ok"], result
            for consumer in (screen, camera):
                run.consumer = consumer
                run.wait_picture(picture, what=f"{consumer.target} update")
            # The screen node negotiates as it does without a camera: BGRx at a variable rate.
            assert {(f["format"], tuple(f["framerate"])) for f in screen.formats} == \
                {("BGRx", (0, 1))}, screen.formats
            assert {(f["format"], tuple(f["framerate"])) for f in camera.formats} == \
                {("BGRA", (30, 1))}, camera.formats
            screen.assert_no_bad_buffers()
            camera.assert_no_bad_buffers()
        run.assert_alive()


def test_real_qemu_console_through_the_camera_equals_screendump(vmcast_bin, consumer_bin,
                                                                 session, tmp_path, artifacts):
    qemu = Qemu(session, NAME).start()
    vmcast = Vmcast(session, vmcast_bin, "--camera")
    vmcast.wait_node(CAMERA)
    dump = tmp_path / "camera.frame"
    consumer = FrameConsumer(session, CAMERA, str(dump), fmt="BGRA")
    try:
        wait_for(lambda: qemu.screendump().size == (720, 400), 60, 0.5,
                 what="SeaBIOS text mode (720x400)")
        frame = wait_pictures(consumer)[-1]
        assert frame["format"] == "BGRA", frame
        image = assert_stream_matches(qemu, dump, artifacts, "camera")
        assert image.size == (720, 400) and not image.is_uniform()
        assert set(read_vmcast_frame(dump).alpha) == {255}
        consumer.assert_no_bad_buffers()
    finally:
        consumer.stop()


def test_camera_node_comes_back_after_a_pipewire_restart(session, artifacts, tmp_path):
    with streamed_peer(session, artifacts, tmp_path, name=NAME, vmcast_args=["--camera"],
                       with_consumer=False) as run:
        result, picture = run.send("scanout width=64 height=48 pattern=gradient")
        assert result["ok"], result
        node_props(session, CAMERA)
        session.kill_daemon("wireplumber")
        session.kill_daemon("pipewire")
        session.start_daemon("pipewire")
        session.start_daemon("wireplumber")
        # The peer draws nothing meanwhile: the node comes back with the console's picture.
        node_props(session, CAMERA)
        with FrameConsumer(session, CAMERA, tmp_path / "camera.frame", fmt="BGRA") as camera:
            run.consumer = camera
            run.wait_picture(picture, what="picture after the restart")
        run.assert_alive()


def test_a_camera_without_consumer_costs_nothing(session, artifacts, tmp_path):
    with streamed_peer(session, artifacts, tmp_path, name=NAME, vmcast_args=["--camera"]) as run:
        # A screen consumer watches changes; the camera node has no consumer.
        result, picture = run.send("scanout width=64 height=48 pattern=gradient")
        assert result["ok"], result
        run.wait_picture(picture, what="scanout")
        for i in range(5):
            result, picture = run.send(f"update x={i} y=0 width=8 height=8 pattern=random:{i}")
            assert result["ok"], result
            run.wait_picture(picture, what=f"update {i}")
        assert camera_counters(run) == (0.0, 0)
        camera = FrameConsumer(session, CAMERA, tmp_path / "camera.frame", fmt="BGRA")
        camera.wait_pictures(3)
        camera.stop()
        # Once the consumer is gone the camera stops sending: the counters stand still.
        last: dict = {}

        def standing_still() -> bool:
            counters = camera_counters(run)
            still = counters == last.get("counters")
            last["counters"] = counters
            return still
        wait_for(standing_still, timeout=30, interval=1, what="the camera to stop sending")
        assert last["counters"][1] >= 3, last
        run.assert_alive()
