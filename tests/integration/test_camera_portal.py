"""A VM console as a camera through the real Camera portal (vmcast_testlib/camera_portal.py),
seen by examples/camera-portal-client.c as a user runs it: `vmcast run --camera` against the fake
QEMU peer with two consoles, so two screen nodes that the portal must not show next to the two
camera nodes it shows."""
from __future__ import annotations

import os
from contextlib import contextmanager

import pytest

from peer_streaming import streamed_peer
from vmcast_testlib import compare, read_png, read_vmcast_frame, tail, wait_for
from vmcast_testlib.consumer import FrameConsumer
from vmcast_testlib.camera_portal import DESKTOP, gvariant_string
from vmcast_testlib.fake_qemu import FakeQemu, FakeQemuError

VM = "camvm"
CAMERAS = [f"vmcast.{VM}.0.camera", f"vmcast.{VM}.1.camera"]
SCREENS = [f"vmcast.{VM}.0", f"vmcast.{VM}.1"]

# examples/camera-portal-client.c's exit statuses.
EXIT_NO_PORTAL = 2
EXIT_ACCESS_DENIED = 3
EXIT_NO_CAMERA = 4


@pytest.fixture
def client_bin():
    path = os.environ.get("VMCAST_CAMERA_PORTAL_CLIENT_BIN")
    if not path or not os.environ.get("VMCAST_BIN") or not os.environ.get("VMCAST_FAKE_QEMU_BIN"):
        pytest.skip("VMCAST_CAMERA_PORTAL_CLIENT_BIN, VMCAST_BIN or VMCAST_FAKE_QEMU_BIN not set")
    return path


@contextmanager
def camera_vm(session, camera_portal, tmp_path):
    """The peer's two consoles showing a picture each, vmcast --camera publishing them, and the
    portal started after the camera nodes exist. Yields (vmcast process, {console: picture})."""
    with FakeQemu(session.env, name=VM, consoles=2) as peer:
        vmcast = session.spawn([os.environ["VMCAST_BIN"], "run", "--verbose", "--camera"],
                               name="vmcast")
        pictures = {}
        for console, pattern in ((0, "random:3"), (1, "gradient")):
            try:
                peer.wait_listener(console=console, timeout=20)
            except FakeQemuError:
                assert vmcast.poll() is None, \
                    f"vmcast exited: {tail(session.log_path(vmcast.log_name, 'stderr'))}"
                raise
            pictures[console] = str(tmp_path / f"sent-{console}.frame")
            peer.command(f"scanout console={console} width=61 height=37 pattern={pattern} "
                         f"save={pictures[console]}", timeout=15, check=True)
        wait_for(lambda: all(session.find_node(name) for name in [*CAMERAS, *SCREENS]),
                 timeout=20, what="vmcast's screen and camera nodes")
        camera_portal.start()
        yield vmcast, pictures


def run_client(session, client_bin, *args: str):
    return session.run([client_bin, "--timeout", "20", *args], timeout=60)


def listed_cameras(stdout: str) -> dict[str, str]:
    """{node name: description} of the client's "camera: NAME<TAB>DESCRIPTION<TAB>..." lines."""
    lines = [line.split("\t") for line in stdout.splitlines() if line.startswith("camera: ")]
    return {fields[0].removeprefix("camera: "): fields[1] for fields in lines}


def assert_screen_gives_the_picture(session, tmp_path, screen: str, picture: str) -> None:
    with FrameConsumer(session, screen, tmp_path / "screen.frame") as consumer:
        consumer.wait_pictures(1, timeout=15)
        assert compare(consumer.latest_image(), read_vmcast_frame(picture)).equal


def test_the_client_sees_only_the_cameras_and_gets_the_peers_picture(session, camera_portal,
                                                                     client_bin, tmp_path,
                                                                     artifacts):
    with camera_vm(session, camera_portal, tmp_path) as (vmcast, pictures):
        assert camera_portal.is_camera_present()
        listing = run_client(session, client_bin)
        assert listing.returncode == 0, f"{listing.stdout}{listing.stderr}"
        # The screen nodes exist (camera_vm waited for them) and the portal hides them.
        listed = listed_cameras(listing.stdout)
        assert sorted(listed) == CAMERAS, listing.stdout
        for console, name in enumerate(CAMERAS):
            # What a camera picker shows: the description vmcast gave, naming VM and console.
            props = session.find_node(name)["info"]["props"]
            assert listed[name] == props["node.description"], listing.stdout
            assert listed[name].startswith(f"VM {VM}, console {console}"), listing.stdout
        assert camera_portal.access_dialogs() == 1
        assert camera_portal.stored_permission() == ["yes"]

        output = tmp_path / "camera-1.png"
        res = run_client(session, client_bin, f"vmcast.{VM}.1.camera", str(output))
        assert res.returncode == 0, f"{res.stdout}{res.stderr}"
        assert "format: BGRA 61x37\n" in res.stdout, res.stdout
        written, expected = read_png(output), read_vmcast_frame(pictures[1])
        comparison = compare(written, expected)
        if not comparison.equal:
            artifacts.save_image("camera-written", written)
            artifacts.save_image("camera-expected", expected)
        assert comparison.equal, comparison.describe(written, expected)
        # The remembered answer: no second dialog.
        assert camera_portal.access_dialogs() == 1
        assert vmcast.poll() is None


def test_denied_access_ends_the_client_and_leaves_vmcast_streaming(session, camera_portal,
                                                                   client_bin, tmp_path):
    camera_portal.set_access("denied")
    with camera_vm(session, camera_portal, tmp_path) as (vmcast, pictures):
        output = tmp_path / "denied.png"
        res = run_client(session, client_bin, f"vmcast.{VM}.0.camera", str(output))
        assert res.returncode == EXIT_ACCESS_DENIED, f"{res.stdout}{res.stderr}"
        assert res.stdout == ""
        assert len(res.stderr.splitlines()) == 1, res.stderr
        assert "denied" in res.stderr, res.stderr
        assert not output.exists()
        assert camera_portal.access_dialogs() == 1
        assert camera_portal.stored_permission() == ["no"]
        # vmcast is unaffected: its camera node is still there, its screen node gives pictures.
        assert vmcast.poll() is None
        assert session.find_node(f"vmcast.{VM}.0.camera")
        assert_screen_gives_the_picture(session, tmp_path, SCREENS[0], pictures[0])


def test_without_camera_the_portal_shows_no_screen_node(session, camera_portal, client_bin,
                                                        tmp_path, artifacts):
    with streamed_peer(session, artifacts, tmp_path, name=VM) as run:
        result, picture = run.send("scanout width=61 height=37 pattern=gradient")
        assert result["ok"], result
        run.wait_picture(picture, what="gradient")
        camera_portal.start()
        assert not camera_portal.is_camera_present()
        res = run_client(session, client_bin)
        assert res.returncode == EXIT_NO_CAMERA, f"{res.stdout}{res.stderr}"
        assert res.stdout == ""
        assert res.stderr == "camera-portal-client: the portal shows no camera\n"
        # Access was granted: the screen node was there to see, and stayed hidden.
        assert camera_portal.stored_permission() == ["yes"]
        run.assert_alive()


def test_a_portal_without_an_access_backend_has_no_camera(session, client_bin, tmp_path):
    # No backend offers Access, so the portal has no Camera interface. The client's call
    # D-Bus-activates the portal, with this environment.
    empty = tmp_path / "no-portals"
    empty.mkdir()
    env = {"XDG_CURRENT_DESKTOP": DESKTOP, "XDG_DESKTOP_PORTAL_DIR": str(empty),
           "XDG_DATA_HOME": str(tmp_path / "data")}
    pairs = ", ".join(f"{gvariant_string(k)}: {gvariant_string(v)}" for k, v in env.items())
    assert session.bus_call("UpdateActivationEnvironment", "{" + pairs + "}").returncode == 0
    res = run_client(session, client_bin)
    assert res.returncode == EXIT_NO_PORTAL, f"{res.stdout}{res.stderr}"
    assert res.stdout == ""
    assert len(res.stderr.splitlines()) == 1, res.stderr
    assert res.stderr.startswith("camera-portal-client: no Camera portal: "), res.stderr
