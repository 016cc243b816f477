"""A viewer that stops reading its WebSocket (issue 23, peers that stop answering): vmcast keeps
its memory bounded, closes that viewer, and the other viewers keep getting pictures.

The stuck viewer is a plain WebSocket client (deterministic, unlike a browser tab), with a small
receive buffer so that what it does not read piles up at vmcast soon. The fake QEMU peer's guest
copies 1 MB texts, which vmcast sends every full-access viewer. The healthy viewer is the page in
Chromium. Meson runs this file inside a network namespace that has only loopback.
"""
from __future__ import annotations

import base64
import os
import socket
import urllib.parse

from peer_streaming import streamed_peer
from vmcast_testlib import MEASURABLE_HEAP_ENV, process_usage, read_vmcast_frame, wait_for
import web_page
from web_page import FULL_TOKEN, open_page, wait_page_shows, wait_running

COPIES = 48
COPY_BYTES = 1_000_000
# vmcast may hold back a viewer's 8 MiB (kMaxUnsentBytes) plus what the kernel buffers; all 48
# copies are 48 MB.
MAX_GROWTH_KIB = 24 * 1024

web, browser = web_page.web, web_page.browser  # the fixtures


def stuck_viewer(port: int, vm: str) -> socket.socket:
    """A WebSocket on the page's /ws, open; it reads the handshake's answer and nothing after."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # before connecting: the window
    sock.settimeout(10)
    sock.connect(("127.0.0.1", port))
    query = urllib.parse.urlencode({"vm": vm, "token": FULL_TOKEN})
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall((f"GET /ws?{query} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                  f"Origin: http://127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
                  f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                  "Sec-WebSocket-Version: 13\r\n\r\n").encode())
    answer = b""
    while b"\r\n\r\n" not in answer:
        chunk = sock.recv(1)  # byte by byte: nothing past the answer is read
        assert chunk, f"vmcast closed the WebSocket handshake: {answer!r}"
        answer += chunk
    assert answer.startswith(b"HTTP/1.1 101"), answer
    return sock


def closed_by_vmcast(sock: socket.socket, timeout: float) -> bool:
    """Reads what is waiting until vmcast's end closes (True) or nothing comes for timeout."""
    sock.settimeout(timeout)
    try:
        while sock.recv(1 << 20):
            pass
        return True
    except (socket.timeout, ConnectionResetError):
        return False


def test_a_viewer_that_stops_reading_is_closed_and_the_others_go_on(session, artifacts, tmp_path,
                                                                    web, browser):
    port, args = web
    with streamed_peer(session, artifacts, tmp_path, name="stuck", vmcast_args=args,
                       vmcast_env=MEASURABLE_HEAP_ENV) as run:
        result, _ = run.send("scanout width=320 height=200 pattern=gradient")
        assert result["ok"], result
        vm = wait_running(port, "stuck", timeout=20)
        open_page(browser, port, "p")
        stuck = stuck_viewer(port, vm)
        try:
            heap_before = process_usage(run.vmcast.pid)[0]
            heaps = []
            for _ in range(COPIES):
                mark = run.peer.mark()
                run.peer.command(f"clipboard-guest-copy size={COPY_BYTES}", timeout=15,
                                 check=True)
                # vmcast fetches each copy's text, then sends it to every full-access viewer.
                run.peer.wait_event("clipboard-request", timeout=15, since=mark)
                heaps.append(process_usage(run.vmcast.pid)[0])
            wait_for(lambda: len(browser.state("p")["vmClipboard"] or "") == COPY_BYTES, 30,
                     what="the healthy page getting the guest's copied text")
            heaps.append(process_usage(run.vmcast.pid)[0])
            print(f"vmcast anonymous KiB before: {heap_before}, after each copy: {heaps}")
            assert max(heaps) - heap_before < MAX_GROWTH_KIB, \
                f"vmcast's memory grew by {max(heaps) - heap_before} KiB for a viewer that " \
                f"reads nothing: {heaps}"
            # libsoup gives a peer that does not answer the closing handshake 5 s.
            assert closed_by_vmcast(stuck, 30), "vmcast kept the viewer that stopped reading"
        finally:
            stuck.close()
        result, picture = run.send("update x=0 y=0 width=320 height=200 pattern=solid:ff8000")
        assert result["ok"], result
        wait_page_shows(browser, read_vmcast_frame(picture), artifacts, "after-the-stuck-viewer")
        run.assert_alive()
