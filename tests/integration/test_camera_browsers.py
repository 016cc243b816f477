"""A VM console as a camera in the real browsers: `vmcast run --camera` against the fake QEMU peer,
the real xdg-desktop-portal 1.16 (vmcast_testlib/camera_portal.py), and Chromium or Firefox ESR
on tests/web/camera-page.html, which opens the camera labelled "VM NAME, console 0 (VGA)" and
draws it to a canvas. The peer shows four solid quadrants; the canvas must show the same colours.

A resize: the browsers follow no change of an open camera's size (docs/camera-browsers.md), so an
open camera keeps its size and shows the console scaled into it, in both browsers; Chromium opens
the camera again at the console's new size once the page let go of it (Firefox keeps the first
size it saw of a camera for as long as it runs).
"""
from __future__ import annotations

from contextlib import contextmanager

import pytest

from peer_streaming import streamed_peer
from vmcast_testlib import read_vmcast_frame, wait_for
from vmcast_testlib.camera_page import CameraPageServer, ChromiumCameraPage, FirefoxCameraPage
from vmcast_testlib.images import Image

VM = "camvm"
LABEL = f"VM {VM}, console 0 (VGA)"  # the node's description: the fake peer's console is VGA
CAMERA_NODE = f"vmcast.{VM}.0.camera"
# The browsers' capturer converts BGRA to I420: a solid colour arrives within a few steps.
TOLERANCE = 16
# Pixels this close to a quadrant's edge may mix colours (chroma subsampling, scaling).
EDGE = 4
FIRST_COLOURS = ("ff0000", "00ff00", "0000ff", "ffffff")
RESIZED_COLOURS = ("ffff00", "00ffff", "ff00ff", "202020")
FIRST_SIZE, RESIZED_SIZE = (320, 200), (640, 400)  # the same shape: scaled, no black bars


def quadrants(width: int, height: int, colours: tuple[str, ...]) -> Image:
    """The picture show_quadrants makes, at any size."""
    rows = []
    for y in range(height):
        left, right = (colours[0], colours[1]) if y < height // 2 else (colours[2], colours[3])
        rows.append(bytes.fromhex(left) * (width // 2)
                    + bytes.fromhex(right) * (width - width // 2))
    return Image(width, height, b"".join(rows))


def show_quadrants(run, width: int, height: int, colours: tuple[str, ...]) -> Image:
    """A scanout of width x height in colours[0], the other three quadrants updated to
    colours[1:] (top right, bottom left, bottom right); the picture the peer meant."""
    result, path = run.send(f"scanout width={width} height={height} pattern=solid:{colours[0]}")
    assert result["ok"], result
    half_w, half_h = width // 2, height // 2
    for (x, y), colour in zip(((half_w, 0), (0, half_h), (half_w, half_h)), colours[1:]):
        result, path = run.send(f"update x={x} y={y} width={width - x if x else half_w} "
                                f"height={height - y if y else half_h} pattern=solid:{colour}")
        assert result["ok"], result
    return read_vmcast_frame(path)


def quadrant_mismatch(page: Image, expected: Image) -> str | None:
    """Why the page's picture does not show the expected quadrants, or None when every pixel
    away from the quadrants' edges is within TOLERANCE of the peer's."""
    if page.size != expected.size:
        return f"size {page.size}, expected {expected.size}"
    width, height = expected.size
    xs = ((EDGE, width // 2 - EDGE), (width // 2 + EDGE, width - EDGE))
    ys = ((EDGE, height // 2 - EDGE), (height // 2 + EDGE, height - EDGE))
    for y0, y1 in ys:
        for x0, x1 in xs:
            for y in range(y0, y1):
                for x in range(x0, x1):
                    got, want = page.pixel(x, y), expected.pixel(x, y)
                    if max(abs(a - b) for a, b in zip(got, want)) > TOLERANCE:
                        return f"pixel ({x},{y}) is {got}, the peer sent {want}"
    return None


def offers_only(session, node_name: str, size: tuple[int, int]) -> bool:
    """Whether the node's formats (EnumFormat, as pw-dump prints them) all have this size."""
    node = session.find_node(node_name) or {}
    formats = (node.get("info") or {}).get("params", {}).get("EnumFormat") or []
    sizes = {(f["size"]["width"], f["size"]["height"])
             for f in formats if isinstance(f.get("size"), dict)}
    return sizes == {size}


def wait_page_shows(page, expected: Image, artifacts, label: str) -> dict:
    """Waits until the page's camera is open at the expected size, its settings say that size,
    and the canvas shows the expected quadrants; the page's state then."""
    last: dict = {}

    def shows() -> dict | None:
        state = page.state()
        last["state"] = state
        if not state or state["phase"] != "open" or not state["settings"]:
            return None
        picture = page.picture()
        last["picture"] = picture
        last["why"] = quadrant_mismatch(picture, expected) if picture else "no picture yet"
        settings = (state["settings"].get("width"), state["settings"].get("height"))
        return state if last["why"] is None and settings == expected.size else None
    try:
        return wait_for(shows, 60, 0.5, what=f"{label}: the page showing the console's camera")
    except AssertionError:
        artifacts.save_image(f"{label}-expected", expected)
        if last.get("picture"):
            artifacts.save_image(f"{label}-page", last["picture"])
        raise AssertionError(f"{label}: {last.get('why')}; page state {last.get('state')}") \
            from None


@contextmanager
def camera_page(browser: str, session, server, artifacts, tmp_path):
    page = (ChromiumCameraPage(session, server, LABEL, artifacts.path("chromium.log"))
            if browser == "chromium"
            else FirefoxCameraPage(session, server, LABEL, tmp_path / "firefox-profile"))
    try:
        yield page
    finally:
        page.close()


@pytest.mark.parametrize("browser", ["chromium", "firefox"])
def test_console_camera_in_browser(browser, session, camera_portal, artifacts, tmp_path):
    with streamed_peer(session, artifacts, tmp_path, name=VM, vmcast_args=["--camera"],
                       with_consumer=False) as run, CameraPageServer() as server:
        first = show_quadrants(run, *FIRST_SIZE, FIRST_COLOURS)
        wait_for(lambda: session.find_node(CAMERA_NODE), 20, what=f"the node {CAMERA_NODE}")
        camera_portal.start()  # after the camera node: 1.16 counts cameras only at its start
        with camera_page(browser, session, server, artifacts, tmp_path) as page:
            state = wait_page_shows(page, first, artifacts, f"{browser}-first")
            # Through the portal the browser sees the camera node only, not the screen node.
            assert state["labels"] == [LABEL], state["labels"]
            assert camera_portal.access_dialogs() >= 1

            # The open camera keeps its size: the console's new picture, scaled into it.
            resized = show_quadrants(run, *RESIZED_SIZE, RESIZED_COLOURS)
            state = wait_page_shows(page, quadrants(*FIRST_SIZE, RESIZED_COLOURS), artifacts,
                                    f"{browser}-resized-scaled")
            assert state["opens"] == 1 and state["ends"] == 0 and state["trackState"] == "live"

            if browser == "chromium":
                # Let go, the camera takes the console's size; opened again, the page gets it.
                page.close_camera()
                wait_for(lambda: offers_only(session, CAMERA_NODE, RESIZED_SIZE), 20,
                         what=f"{CAMERA_NODE} offering {RESIZED_SIZE} with no consumer")
                page.open_camera()
                state = wait_page_shows(page, resized, artifacts, f"{browser}-reopened")
                assert state["opens"] == 2, state
        run.assert_alive()
