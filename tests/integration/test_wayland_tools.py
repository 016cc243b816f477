"""`vmcast run --wayland`: the wlroots tools of Debian 12 (wayland-info, grim, wf-recorder,
wlr-randr) against the consoles, with the fake QEMU peer and with real QEMU. What they see must
be the console's picture exactly; what they do must not disturb the PipeWire streams; clients
that misbehave get disconnected while vmcast keeps serving."""
from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import stat
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path

import pytest

from peer_streaming import streamed_peer
from vmcast_testlib import Qemu, compare, read_png, read_vmcast_frame, wait_for
from vmcast_testlib.consumer import FrameConsumer
from vmcast_testlib.fake_qemu import FakeQemu
from vmcast_testlib.images import Image

TOOLS = ["wayland-info", "grim", "wf-recorder", "wlr-randr", "ffprobe"]
VM = "wl"
SOCKET = f"vmcast-{VM}"
BOOT_TIMEOUT = 180


@pytest.fixture(autouse=True)
def tools_installed():
    missing = [tool for tool in TOOLS if not shutil.which(tool)]
    if missing:  # a failure in CI (VMCAST_CI=1, see conftest.py)
        pytest.skip(f"not installed: {', '.join(missing)} (scripts/install-deps.sh)")


def wayland_env(session) -> dict:
    return {**session.env, "WAYLAND_DISPLAY": SOCKET}


def run_tool(session, argv, timeout: float = 60) -> subprocess.CompletedProcess:
    """A client run to its end; the timeout only keeps a hung client from hanging the test."""
    return subprocess.run(argv, env=wayland_env(session), capture_output=True, text=True,
                          timeout=timeout)


def grim(session, path: Path, *args: str) -> Image:
    res = run_tool(session, ["grim", *args, str(path)])
    assert res.returncode == 0, f"grim {' '.join(args)} failed ({res.returncode}):\n{res.stderr}"
    return read_png(path)


def crop(image: Image, x: int, y: int, width: int, height: int) -> Image:
    rows = [image.rgb[(row * image.width + x) * 3:(row * image.width + x + width) * 3]
            for row in range(y, y + height)]
    return Image(width, height, b"".join(rows))


def assert_same(artifacts, got: Image, expected: Image, what: str) -> None:
    result = compare(got, expected)
    if not result.equal:
        artifacts.save_image(f"{what}-got", got)
        artifacts.save_image(f"{what}-expected", expected)
        pytest.fail(f"{what}: {result.describe(got, expected)}")


def printed_display(run) -> str:
    """The WAYLAND_DISPLAY value vmcast printed on stdout."""
    log = run.session.log_path(run.vmcast.log_name, "stdout")

    def printed():
        run.assert_alive()
        found = re.search(r"WAYLAND_DISPLAY=(\S+)", log.read_text())
        return found and found.group(1)
    return wait_for(printed, timeout=20, what="vmcast printing WAYLAND_DISPLAY")


@contextmanager
def wayland_peer(session, artifacts, tmp_path, peer_args=(), vmcast_env=None):
    """The fake peer streamed with --wayland (default socket) and a consumer on its console."""
    with streamed_peer(session, artifacts, tmp_path, name=VM, peer_args=peer_args,
                       vmcast_args=["--vm", VM, "--wayland"], with_consumer=False,
                       vmcast_env=vmcast_env) as run:
        with FrameConsumer(session, f"vmcast.{VM}.0", tmp_path / "latest.frame") as consumer:
            run.consumer = consumer
            assert printed_display(run) == SOCKET
            yield run


def start_recorder(run, path: Path):
    """wf-recorder on console 0, returned once it has its first frame and encodes (it then
    waits for damage with its next frame pending)."""
    recorder = run.session.spawn(["wf-recorder", "-o", f"vmcast.{VM}.0", "-f", str(path)],
                                 name="wf-recorder", env={"WAYLAND_DISPLAY": SOCKET})
    stdout = run.session.log_path(recorder.log_name, "stdout")

    def encoding() -> bool:
        assert recorder.poll() is None, \
            run.session.log_path(recorder.log_name, "stderr").read_text(errors="replace")
        return "Using video filter" in stdout.read_text(errors="replace")
    wait_for(encoding, timeout=30, what="wf-recorder encoding its first frame")
    return recorder


def stop_recorder(run, recorder) -> None:
    """SIGINT, then a change: wf-recorder 0.3 sees the signal only when its pending frame
    completes, which on a still screen is at the next damage."""
    recorder.send_signal(signal.SIGINT)
    result, _ = run.send("update x=0 y=0 width=4 height=4 pattern=solid:123456")
    assert result["ok"], result
    assert recorder.wait(timeout=30) == 0, \
        run.session.log_path(recorder.log_name, "stderr").read_text(errors="replace")


def node_description(session, index: int = 0) -> str:
    """What the console's PipeWire node calls it: its output is described the same."""
    return session.find_node(f"vmcast.{VM}.{index}")["info"]["props"]["node.description"]


def show(run, line: str, what: str) -> Image:
    """Sends a picture and waits until the PipeWire stream shows it: vmcast has it then."""
    result, path = run.send(line)
    assert result["ok"], result
    run.wait_picture(path, what=what)
    return read_vmcast_frame(path)


def test_no_socket_and_no_globals_without_wayland(session, artifacts, tmp_path):
    with streamed_peer(session, artifacts, tmp_path, name=VM, vmcast_args=["--vm", VM]) as run:
        show(run, "scanout width=64 height=48 pattern=gradient", "picture")
        assert not list(Path(session.env["XDG_RUNTIME_DIR"]).glob("vmcast-*")), \
            list(Path(session.env["XDG_RUNTIME_DIR"]).iterdir())
        res = run_tool(session, ["wayland-info"])
        assert res.returncode != 0, res.stdout
        assert "WAYLAND_DISPLAY" not in run.session.log_path(run.vmcast.log_name,
                                                             "stdout").read_text()


def test_wayland_info_lists_each_global_at_its_version(session, artifacts, tmp_path):
    with FakeQemu(session.env, name=VM, consoles=2) as peer:
        vmcast = session.spawn([os.environ["VMCAST_BIN"], "run", "--verbose", "--vm", VM,
                                "--wayland"], name="vmcast")
        for index in (0, 1):
            peer.wait_listener(console=index, timeout=20)
            result = peer.command(f"scanout width=640 height=480 console={index}", timeout=15)
            assert result["ok"], result
            wait_for(lambda: session.find_node(f"vmcast.{VM}.{index}"), timeout=20,
                     what=f"node of console {index}")
        runtime_dir = Path(session.env["XDG_RUNTIME_DIR"])
        assert stat.S_IMODE(runtime_dir.stat().st_mode) == 0o700
        assert stat.S_ISSOCK((runtime_dir / SOCKET).stat().st_mode)
        res = run_tool(session, ["wayland-info"])
        assert res.returncode == 0, res.stderr
        globals_ = re.findall(r"interface: '(\w+)',\s+version:\s+(\d+)", res.stdout)
        versions: dict[str, list[int]] = {}
        for interface, version in globals_:
            versions.setdefault(interface, []).append(int(version))
        assert versions.get("wl_shm") == [1], res.stdout
        assert versions.get("wl_output") == [4, 4], res.stdout
        assert versions.get("zxdg_output_manager_v1") == [3], res.stdout
        assert versions.get("zwlr_screencopy_manager_v1") == [3], res.stdout
        assert versions.get("zwlr_output_manager_v1") == [2], res.stdout
        # wayvnc needs seat v7, virtual pointer v1 to v2 and virtual keyboard v1.
        assert versions.get("wl_seat") == [7], res.stdout
        assert versions.get("zwp_virtual_keyboard_manager_v1") == [1], res.stdout
        assert versions.get("zwlr_virtual_pointer_manager_v1") == [2], res.stdout
        # pixman: no DMA-BUF import; no surfaces.
        for absent in ("zwp_linux_dmabuf_v1", "wl_drm", "wl_compositor"):
            assert absent not in versions, res.stdout
        for index in (0, 1):
            assert f"name: vmcast.{VM}.{index}" in res.stdout, res.stdout
            assert f"description: {node_description(session, index)}\n" in res.stdout, \
                res.stdout
        # The real mode and the rate frames come at, not the parked frame timer (1 mHz).
        assert re.search(r"width: 640 px, height: 480 px, refresh: 60(\.000)? Hz", res.stdout), \
            res.stdout
        assert vmcast.poll() is None


def test_grim_copies_each_console_exactly_and_all_side_by_side(session, artifacts, tmp_path):
    with FakeQemu(session.env, name=VM, consoles=2) as peer:
        session.spawn([os.environ["VMCAST_BIN"], "run", "--verbose", "--vm", VM, "--wayland"],
                      name="vmcast")
        peer.wait_listener(console=0, timeout=20)
        peer.wait_listener(console=1, timeout=20)
        pictures = []
        for index, (line, size) in enumerate([
                ("scanout width=96 height=64 pattern=gradient", (96, 64)),
                ("scanout width=50 height=40 format=r5g6b5 pattern=random:7", (50, 40))]):
            saved = tmp_path / f"console-{index}.frame"
            result = peer.command(f"{line} console={index} save={saved}", timeout=15)
            assert result["ok"], result
            pictures.append(read_vmcast_frame(saved))
            assert pictures[-1].size == size
        for index, picture in enumerate(pictures):
            # The still screen: each grim finishes with the console's picture (wlroots asks
            # for a frame even without damage); retried until vmcast has drawn the scanout.
            path = tmp_path / f"grim-{index}.png"
            wait_for(lambda: compare(grim(session, path, "-o", f"vmcast.{VM}.{index}"),
                                     picture).equal,
                     timeout=20, what=f"grim of console {index} equal to the peer's picture")
            assert_same(artifacts, read_png(path), picture, f"grim-console-{index}")
        # Plain grim: the whole layout, consoles side by side from the left, the rest black.
        whole = grim(session, tmp_path / "grim-all.png")
        assert whole.size == (96 + 50, 64), whole.size
        assert_same(artifacts, crop(whole, 0, 0, 96, 64), pictures[0], "grim-all-console-0")
        assert_same(artifacts, crop(whole, 96, 0, 50, 40), pictures[1], "grim-all-console-1")


def test_grim_draws_the_pointer_only_when_asked(session, artifacts, tmp_path):
    """`grim -c` asks for the pointer (overlay_cursor): QEMU's pointer drawn in; plain grim: the
    console's picture alone, whatever the PipeWire stream draws for its consumers."""
    with wayland_peer(session, artifacts, tmp_path) as run:
        picture = show(run, "scanout width=64 height=48 pattern=solid:000000", "black picture")
        assert run.peer.command("cursor width=8 height=8 hot_x=2 hot_y=2 "
                                "pattern=solid:ffff0000")["ok"]
        assert run.peer.command("mouse-set x=20 y=10 on=1")["ok"]
        path = tmp_path / "with-pointer.png"
        with_pointer = wait_for(
            lambda: (lambda image: image if image.pixel(20, 10) == (255, 0, 0) else None)(
                grim(session, path, "-c", "-o", f"vmcast.{VM}.0")),
            10, what="grim -c showing the red pointer at (20, 10)")
        # The pointer's 8x8 image from its hot spot (2, 2): (18, 8) to (25, 15).
        assert with_pointer.pixel(18, 8) == (255, 0, 0) and with_pointer.pixel(17, 8) == (0, 0, 0)
        assert with_pointer.pixel(25, 15) == (255, 0, 0) and with_pointer.pixel(26, 16) == (0, 0, 0)
        assert_same(artifacts, grim(session, tmp_path / "without.png", "-o", f"vmcast.{VM}.0"),
                    picture, "grim without -c: no pointer")


def test_wlr_randr_lists_outputs_and_a_change_is_refused(session, artifacts, tmp_path):
    with wayland_peer(session, artifacts, tmp_path) as run:
        show(run, "scanout width=200 height=120 pattern=gradient", "picture")
        res = run_tool(session, ["wlr-randr"])
        assert res.returncode == 0, res.stderr
        assert f"vmcast.{VM}.0 \"{node_description(session)}\"\n" in res.stdout, res.stdout
        assert re.search(r"200x120 px, 60\.0+ Hz \(current\)", res.stdout), res.stdout
        assert "Enabled: yes" in res.stdout, res.stdout
        refused = run_tool(session, ["wlr-randr", "--output", f"vmcast.{VM}.0", "--off"])
        assert refused.returncode != 0, refused.stdout + refused.stderr
        assert "failed" in refused.stderr.lower(), refused.stderr
        # Still there, still streaming.
        assert "Enabled: yes" in run_tool(session, ["wlr-randr"]).stdout
        show(run, "update x=10 y=10 width=30 height=20 pattern=solid:ff00ff", "update after")
        run.assert_alive()


def test_still_screen_gives_no_stream_frames_to_screencopy_clients(session, artifacts, tmp_path):
    with wayland_peer(session, artifacts, tmp_path) as run:
        picture = show(run, "scanout width=120 height=80 pattern=gradient", "picture")
        # Past the whole pictures a new consumer gets again up to 1 s after it joins
        # (src/pipewire/workarounds.h, NewConsumerRepeats).
        time.sleep(1.2)
        frames_before = len(run.consumer.frames)
        # grim copies (a forced commit each); wf-recorder copies with damage, which forces an
        # empty commit per request: none of them is a new picture for the stream.
        recorder = start_recorder(run, tmp_path / "still.mp4")
        for i in range(5):
            assert_same(artifacts, grim(session, tmp_path / f"still-{i}.png"), picture,
                        f"still grim {i}")
        assert len(run.consumer.frames) == frames_before, run.consumer.describe()
        assert recorder.poll() is None
        stop_recorder(run, recorder)
        show(run, "update x=0 y=0 width=8 height=8 pattern=solid:00ff00", "update after")


def test_wf_recorder_records_a_changing_console(session, artifacts, tmp_path):
    with wayland_peer(session, artifacts, tmp_path) as run:
        show(run, "scanout width=320 height=240 pattern=gradient", "picture")
        video = tmp_path / "console.mp4"
        recorder = start_recorder(run, video)
        result = run.peer.command("stream rate=30 duration=3 region=tenth", timeout=30)
        assert result["ok"], result
        stop_recorder(run, recorder)
        probe = subprocess.run(["ffprobe", "-v", "error", "-count_frames", "-select_streams",
                                "v:0", "-show_entries", "stream=width,height,nb_read_frames",
                                "-of", "csv=p=0", str(video)],
                               capture_output=True, text=True, timeout=60)
        assert probe.returncode == 0, probe.stderr
        width, height, frames = probe.stdout.strip().split(",")
        assert (int(width), int(height)) == (320, 240), probe.stdout
        # About 90 changes were sent; a recording of them has many frames, a stuck one few.
        assert int(frames) >= 10, probe.stdout
        run.assert_alive()


def test_clients_that_misbehave_leave_vmcast_serving(session, artifacts, tmp_path):
    with wayland_peer(session, artifacts, tmp_path) as run:
        picture = show(run, "scanout width=64 height=48 pattern=gradient", "picture")
        path = Path(session.env["XDG_RUNTIME_DIR"]) / SOCKET
        # Garbage: a message header for an object that does not exist, then noise.
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as junk:
            junk.connect(str(path))
            junk.sendall(bytes(range(256)) * 64)
            assert junk.recv(4096) is not None  # the error, or the end when vmcast hangs up
        # A client that asks for replies and never reads them: wl_display.sync (object 1,
        # opcode 0, 12 bytes) with ever new ids, until its queue is full and vmcast drops it.
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as deaf:
            deaf.connect(str(path))
            deaf.setblocking(False)
            sent = 0
            try:
                for new_id in range(2, 200_000):
                    deaf.sendall(b"".join([(1).to_bytes(4, "little"),
                                           ((12 << 16) | 0).to_bytes(4, "little"),
                                           new_id.to_bytes(4, "little")]))
                    sent += 1
            except (BlockingIOError, BrokenPipeError, ConnectionResetError):
                pass
            assert sent > 100
            show(run, "update x=0 y=0 width=16 height=16 pattern=solid:ff0000",
                 "update while a client does not read")
        # A client gone in the middle of a copy: wf-recorder waits for damage on a still
        # screen, with its frame pending, when it is killed.
        recorder = start_recorder(run, tmp_path / "killed.mp4")
        recorder.kill()
        recorder.wait(timeout=10)
        show(run, "update x=20 y=20 width=16 height=16 pattern=solid:0000ff", "update after")
        got = grim(session, tmp_path / "after.png", "-o", f"vmcast.{VM}.0")
        assert got.size == picture.size
        run.assert_alive()


def test_a_socket_path_gets_a_private_directory(session, artifacts, tmp_path):
    socket_path = tmp_path / "wl" / "socket"
    with streamed_peer(session, artifacts, tmp_path, name=VM,
                       vmcast_args=["--vm", VM, f"--wayland={socket_path}"]) as run:
        show(run, "scanout width=32 height=32 pattern=gradient", "picture")
        assert printed_display(run) == str(socket_path)
        assert stat.S_IMODE(socket_path.parent.stat().st_mode) == 0o700
        res = subprocess.run(["wlr-randr"], env={**session.env, "WAYLAND_DISPLAY":
                                                 str(socket_path)},
                             capture_output=True, text=True, timeout=60)
        assert res.returncode == 0 and f"vmcast.{VM}.0" in res.stdout, res.stderr


def test_a_directory_open_to_others_is_refused(session, tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o755)
    os.chmod(shared, 0o755)
    res = session.run([os.environ["VMCAST_BIN"], "run", f"--wayland={shared}/socket"],
                      timeout=30)
    assert res.returncode != 0
    assert "mode 0700" in res.stderr, res.stderr
    assert not (shared / "socket").exists()


def test_grim_equals_qemu_screendump(session, guest, artifacts, tmp_path):
    qemu = Qemu(session, VM, **guest.qemu_args("pattern")).start()
    qemu.wait_serial("VMCAST-GUEST: ready mode=pattern", BOOT_TIMEOUT)
    session.spawn([os.environ["VMCAST_BIN"], "run", "--verbose", "--vm", VM, "--wayland"],
                  name="vmcast")
    qemu.stop()
    expected = qemu.screendump()
    path = tmp_path / "grim.png"

    def same() -> bool:
        res = run_tool(session, ["grim", "-o", f"vmcast.{VM}.0", str(path)])
        return res.returncode == 0 and compare(read_png(path), expected).equal
    try:
        wait_for(same, timeout=60, interval=0.5, what="grim equal to QMP screendump")
    except AssertionError:
        if path.exists():
            assert_same(artifacts, read_png(path), expected, "grim-vs-screendump")
        raise
