"""`vmcast run --web`: the page in real headless Chromium (Debian's, driven by playwright-core)
watching a console over WebRTC and sending input, with the fake QEMU peer as the VM (its
Keyboard and Mouse calls are recorded). The real-QEMU end-to-end test is in test_web_qemu.py.

  vmcast run --web [ADDR] [--web-token-file FILE] [--web-codec h264|vp8]
      prints "vmcast: watch VM 'NAME' at http://ADDR/?token=FULL" and a view-only URL;
      /ws?token=T[&console=N] is the signalling WebSocket (403 for a wrong token or Origin).

Meson runs this file inside a network namespace that has only loopback (unshare --net).
"""
from __future__ import annotations

import json
import socket
import time
import urllib.error
import urllib.request

import pytest

from peer_streaming import streamed_peer
from vmcast_testlib import psnr, read_vmcast_frame, wait_for
from vmcast_testlib.browser import Browser

FULL_TOKEN = "full-access-token-0123456789"
VIEW_TOKEN = "view-only-token-9876543210"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def web(tmp_path):
    """(port, vmcast arguments) for a web page with known tokens."""
    token_file = tmp_path / "tokens"
    token_file.write_text(f"{FULL_TOKEN}\n{VIEW_TOKEN}\n")
    port = free_port()
    return port, ["--web", f"127.0.0.1:{port}", "--web-token-file", str(token_file)]


@pytest.fixture
def browser(artifacts):
    with Browser(artifacts.path("browser.log")) as b:
        yield b


def key_events(peer, since: int) -> list[tuple[str, int]]:
    return [(e["action"], e["keycode"]) for e in peer.events("key", since=since)]


def test_page_shows_the_console_and_types_into_it(session, artifacts, tmp_path, web, browser):
    port, args = web
    with streamed_peer(session, artifacts, tmp_path, name="web", vmcast_args=args) as run:
        result, expected_path = run.send("scanout width=640 height=480 pattern=gradient")
        assert result["ok"], result
        url = f"http://127.0.0.1:{port}/?token={FULL_TOKEN}"
        browser.open("full", url)
        state = browser.wait_decoding("full")
        assert state["access"] == "full" and state["phase"] == "connected", state

        expected = read_vmcast_frame(expected_path)
        def close_enough():
            frame = browser.frame("full")
            return frame if frame.size == expected.size and psnr(frame, expected) >= 30 else None
        try:
            wait_for(close_enough, 20, 0.5, what="the decoded picture within 30 dB of the sent one")
        except AssertionError:
            artifacts.save_image("decoded", browser.frame("full"))
            artifacts.save_image("expected", expected)
            raise

        mark = run.peer.mark()
        browser.call("type", page="full", text="a")
        events = wait_for(lambda: (lambda e: e if len(e) >= 2 else None)(
            key_events(run.peer, mark)), 10, what="KeyA pressed and released in QEMU")
        assert events == [("press", 0x1e), ("release", 0x1e)], events
        run.assert_alive()
        printed = session.log_path(run.vmcast.log_name, "stdout").read_text()
        assert f"vmcast: watch VM 'web' at {url}\n" in printed, printed
        print(state, browser.state("full"))
