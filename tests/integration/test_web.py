"""`vmcast run --web`: the page in real headless Chromium (Debian's, driven by playwright-core)
watching a console over WebRTC and sending input, with the fake QEMU peer as the VM (its
Keyboard and Mouse calls are recorded). The real-QEMU end-to-end test is in test_web_qemu.py.

  vmcast run --web [ADDR] [--web-token-file FILE] [--web-codec h264|vp8]
      prints "vmcast: watch VM 'NAME' at http://ADDR/?vm=NAME&token=FULL" and a view-only URL
      (the list of VMs at /?token=T is tested in test_web_vm_list.py);
      /ws?token=T[&vm=NAME][&console=N] is the signalling WebSocket (without vm=, the only VM;
      403 for a wrong token or Origin, 503 while the VM is not running).

Meson runs this file inside a network namespace that has only loopback (unshare --net).
"""
from __future__ import annotations

import http.client
import json
import time

from peer_streaming import streamed_peer
from vmcast_testlib import process_usage, psnr, read_vmcast_frame, wait_for
from vmcast_testlib.fake_qemu import FakeQemu
from web_page import (FULL_TOKEN, VIEW_TOKEN, browser, console_url,  # noqa: F401
                      http_status, key_events, open_page, served_peer, wait_input_channel,
                      wait_page_shows, web)


def test_page_shows_the_console_and_types_into_it(session, artifacts, tmp_path, web, browser):
    port, args = web
    # The page is the stream's first consumer, as with a user's first viewer.
    with streamed_peer(session, artifacts, tmp_path, name="web", vmcast_args=args,
                       with_consumer=False) as run:
        result, expected_path = run.send("scanout width=640 height=480 pattern=gradient")
        assert result["ok"], result
        url = f"http://127.0.0.1:{port}/?vm=web&token={FULL_TOKEN}"
        browser.open("full", url)
        state = browser.wait_decoding("full")
        assert state["access"] == "full" and state["phase"] == "connected", state
        # At the first try: the encoder's start once waited 30 s for vmcast's own PipeWire
        # stream, which the blocked main loop could not serve, then failed, and the page had to
        # connect again. Each try of the page starts with a plain request to /ws.
        tries = browser.eval("full", "performance.getEntriesByType('resource')"
                                     ".filter(e => new URL(e.name).pathname === '/ws').length")
        assert tries == 1, f"the page connected {tries} times"
        # The browser may ask for a keyframe after a loss (else a still screen stays frozen).
        sdp = browser.eval("full", "window.vmcast.peer().remoteDescription.sdp")
        assert "a=rtcp-fb:96 nack pli" in sdp, sdp
        # Each frame is shown as soon as it is decoded: the browser accepted a playout delay
        # of zero (else its jitter buffer holds every frame for tens of milliseconds).
        playout_delay = "a=extmap:1 http://www.webrtc.org/experiments/rtp-hdrext/playout-delay"
        assert playout_delay in sdp, sdp
        answer = browser.eval("full", "window.vmcast.peer().localDescription.sdp")
        assert playout_delay in answer, answer

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

        # Colours as sent: the encoder's YUV matrix and range and the ones the stream tells the
        # browser agree (pure green is 40 levels off where BT.601 is read as BT.709, 20 where
        # limited range is read as full).
        result, _ = run.send("scanout width=640 height=480 pattern=solid:00ff00")
        assert result["ok"], result
        def green_shown():
            seen = browser.frame("full").pixel(320, 240)
            return seen if all(abs(a - b) <= 8 for a, b in zip(seen, (0, 255, 0))) else None
        try:
            wait_for(green_shown, 20, 0.5, what="pure green shown as (0, 255, 0) within 8")
        except AssertionError:
            print("seen:", browser.frame("full").pixel(320, 240))
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


def test_page_follows_the_console_through_resizes(session, artifacts, tmp_path, web, browser):
    port, _ = web
    with served_peer(session, artifacts, tmp_path, web, "resize") as run:
        open_page(browser, port, "p")
        for width, height in ((480, 300), (200, 120), (320, 200)):
            result, expected_path = run.send(f"scanout width={width} height={height} "
                                             "pattern=gradient")
            assert result["ok"], result
            wait_page_shows(browser, read_vmcast_frame(expected_path), artifacts,
                            f"{width}x{height}")
        assert browser.state("p")["errors"] == []
        run.assert_alive()


def test_tokens_origin_and_view_only(session, artifacts, tmp_path, web, browser):
    port, _ = web
    base = f"http://127.0.0.1:{port}"
    with served_peer(session, artifacts, tmp_path, web, "access") as run:

        # The signalling endpoint refuses before any WebSocket exists.
        assert http_status(f"{base}/ws?token=wrong-token-0000000000")[0] == 403
        assert http_status(f"{base}/ws")[0] == 403
        assert http_status(f"{base}/ws?token={FULL_TOKEN}")[0] == 204
        assert http_status(f"{base}/ws?token={FULL_TOKEN}&console=7")[0] == 404
        # Another site's page must not use a token it learnt.
        evil = {"Origin": "http://evil.example"}
        assert http_status(f"{base}/ws?token={FULL_TOKEN}", evil)[0] == 403
        same = {"Origin": f"http://127.0.0.1:{port}"}
        assert http_status(f"{base}/ws?token={FULL_TOKEN}", same)[0] == 204

        browser.open("wrong", console_url(port, "access", "wrong-token-0000000000"))
        state = wait_for(lambda: (lambda s: s if s["phase"] == "refused" else None)(
            browser.state("wrong")), 15, what="the page saying the token is wrong")
        assert browser.eval("wrong", "document.getElementById('notice').hidden") is False
        # A WebSocket handshake itself, with a wrong token and with the right one.
        opens = """token => new Promise(done => { const ws = new WebSocket(
            `ws://${location.host}/ws?token=${token}`);
            ws.onopen = () => { ws.close(); done(true); }; ws.onclose = () => done(false); })"""
        assert browser.eval("wrong", f"({opens})('wrong-token-0000000000')") is False
        assert browser.eval("wrong", f"({opens})('{VIEW_TOKEN}')") is True

        # A view-only viewer watches, and what it sends on the data channel is refused.
        browser.open("view", console_url(port, "access", VIEW_TOKEN))
        state = browser.wait_decoding("view")
        assert state["access"] == "view", state
        wait_input_channel(browser, "view")
        mark = run.peer.mark()
        browser.eval("view", "window.vmcast.channel().send("
                             "'{\"type\":\"key\",\"code\":\"KeyA\",\"down\":true}')")
        wait_for(lambda: any("may only watch" in e for e in browser.state("view")["errors"]),
                 10, what="vmcast refusing the view-only viewer's input")
        browser.call("type", page="view", text="b")
        time.sleep(1)
        assert key_events(run.peer, mark) == []

        # A second viewer, with full access, at the same time.
        browser.open("full", console_url(port, "access"))
        browser.wait_decoding("full")
        before = browser.state("view")["framesDecoded"]
        result, _ = run.send("update x=0 y=0 width=100 height=100 pattern=solid:ff0000")
        assert result["ok"], result
        browser.wait_decoding("view", more_than=before)
        run.assert_alive()


def test_bad_input_is_refused_and_floods_are_dropped(session, artifacts, tmp_path, web,
                                                     browser):
    port, _ = web
    with served_peer(session, artifacts, tmp_path, web, "bad") as run:
        open_page(browser, port, "p")
        bad = ['not json', '[1,2]', '{"type":7}', '{"type":"key","code":"NoSuchKey","down":true}',
               '{"type":"move","x":-5,"y":3}', '{"type":"button","button":99,"down":true}',
               '{"type":"key","code":"KeyA"}', '{"type":"teleport"}',
               '{"type":"motion","dx":1e300,"dy":0}', '"x"' * 400]
        mark = run.peer.mark()
        for text in bad:
            browser.eval("p", f"window.vmcast.channel().send({json.dumps(text)})")
        errors = wait_for(lambda: (lambda e: e if len(e) >= 5 else None)(
            browser.state("p")["errors"]), 10, what="error replies to bad input")
        assert any("malformed JSON" in e for e in errors), errors
        assert any("unknown key code" in e for e in errors), errors
        assert key_events(run.peer, mark) == []

        # A flood: far more than a person makes, all at once. vmcast drops what is over its
        # rate and stays responsive.
        browser.eval("p", """(() => { const c = window.vmcast.channel();
            for (let i = 0; i < 6000; i++)
              c.send(JSON.stringify({type: 'move', x: i % 300, y: 10})); })()""")
        wait_for(lambda: "input flood" in run.vmcast_log(), 20, what="the flood warning")
        # Oversized signalling: the server closes that WebSocket, as "message too big".
        closed = """token => new Promise(done => { const ws = new WebSocket(
            `ws://${location.host}/ws?token=${token}`);
            ws.onopen = () => ws.send('x'.repeat(200000)); ws.onclose = e => done(e.code);
            setTimeout(() => done('still open after 10 s'), 10000); })"""
        assert browser.eval("p", f"({closed})('{FULL_TOKEN}')") == 1009
        mark = run.peer.mark()
        frames = browser.state("p")["framesDecoded"]
        browser.call("type", page="p", text="z")
        wait_for(lambda: len(key_events(run.peer, mark)) >= 2, 20,
                 what="input still reaching QEMU after the flood")
        run.send("update x=0 y=0 width=50 height=50 pattern=solid:00ff00")
        browser.wait_decoding("p", more_than=frames)
        run.assert_alive()


def test_page_reports_the_end_and_reconnects_to_a_new_vmcast(session, artifacts, tmp_path, web,
                                                             browser):
    port, args = web
    with served_peer(session, artifacts, tmp_path, web, "again") as run:
        browser.open("p", console_url(port, "again"))
        browser.wait_decoding("p")

        run.vmcast.terminate()
        run.vmcast.wait(timeout=15)
        state = wait_for(lambda: (lambda s: s if s["ended"] else None)(browser.state("p")), 15,
                         what="the page showing that vmcast stopped")
        assert state["ended"] == "vmcast stopped", state
        assert browser.eval("p", "document.getElementById('notice').textContent").startswith(
            "vmcast stopped")

        again = session.spawn([str(run.vmcast.args[0]), "run", "--verbose", *args],
                              name="vmcast-again")
        try:
            state = wait_for(lambda: (lambda s: s if s["phase"] == "connected" and
                                      s["framesDecoded"] > 0 and not s["ended"] else None)(
                browser.state("p")), 40, 0.5, what="the page reconnecting to the new vmcast")
            assert browser.eval("p", "document.getElementById('notice').hidden") is True
            # Input works on the new connection too.
            mark = run.peer.mark()
            browser.call("type", page="p", text="q")
            wait_for(lambda: key_events(run.peer, mark) == [("press", 0x10), ("release", 0x10)],
                     15, what="KeyQ reaching QEMU through the new connection")
        finally:
            again.terminate()
            again.wait(timeout=15)


def test_page_waits_for_its_stopped_vm_and_shows_it_again(session, artifacts, tmp_path, web,
                                                          browser):
    """A VM stops while its page is open, and a new QEMU of the same name comes back: the same
    page says so, waits, and shows the new VM's picture and drives it, without a reload."""
    port, _ = web
    with served_peer(session, artifacts, tmp_path, web, "comeback") as run:
        base = f"http://127.0.0.1:{port}"
        browser.open("p", f"{base}/?vm=comeback&token={FULL_TOKEN}")
        browser.wait_decoding("p")

        run.peer.stop()
        state = wait_for(lambda: (lambda s: s if s["ended"] else None)(browser.state("p")), 15,
                         what="the page showing that the VM stopped")
        assert state["ended"] == "the VM 'comeback' stopped", state
        notice = "document.getElementById('notice').textContent"
        wait_for(lambda: "is not running; waiting for it" in browser.eval("p", notice), 15,
                 what="the page waiting for the VM")
        status, text = http_status(f"{base}/ws?vm=comeback&token={FULL_TOKEN}")
        assert (status, text) == (503, "the VM 'comeback' is not running; waiting for it\n")
        run.assert_alive()

        with FakeQemu(session.env, name="comeback") as again:
            again.wait_listener(timeout=20)
            result = again.command("scanout width=320 height=200 pattern=solid:ff0000")
            assert result["ok"], result

            def red_shown():
                state = browser.state("p")
                if state["phase"] != "connected" or state["ended"]:
                    return None
                seen = browser.frame("p").pixel(160, 100)
                return seen if all(abs(a - b) <= 8 for a, b in zip(seen, (255, 0, 0))) else None
            wait_for(red_shown, 30, 0.5, what="the page showing the VM that came back")
            assert browser.eval("p", "document.getElementById('notice').hidden") is True
            wait_input_channel(browser, "p")
            mark = again.mark()
            browser.call("type", page="p", text="q")
            wait_for(lambda: key_events(again, mark) == [("press", 0x10), ("release", 0x10)],
                     15, what="KeyQ reaching the QEMU that came back")
        run.assert_alive()


def test_connections_the_browser_closes_are_let_go(session, artifacts, tmp_path, web):
    """A browser keeps its HTTP connections open between requests and closes them when it
    leaves; vmcast must then close its ends too, or every page load (and every refused WebSocket
    handshake, which needs no token to send) costs it fds for good."""
    port, _ = web
    with served_peer(session, artifacts, tmp_path, web, "conns") as run:
        def load_page():
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            for path in (f"/?vm=conns&token={FULL_TOKEN}", f"/vms?token={FULL_TOKEN}"):
                connection.request("GET", path)
                response = connection.getresponse()
                assert response.status == 200, (path, response.status)
                response.read()
            connection.close()
        def refused_upgrade():  # a WebSocket handshake with a wrong token: anyone can send it
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            connection.request("GET", "/ws?vm=conns&token=wrong-token-0000000000", headers={
                "Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Version": "13",
                "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
                "Origin": f"http://127.0.0.1:{port}"})
            response = connection.getresponse()
            assert response.status == 403, response.status
            response.read()
            connection.close()
        run.consumer.wait_pictures(1)  # the stream's buffers are in the baseline
        load_page()  # and what the first page load sets up for good
        _, fds_before = process_usage(run.vmcast.pid)
        for _ in range(20):
            load_page()
            refused_upgrade()
        wait_for(lambda: process_usage(run.vmcast.pid)[1] <= fds_before, 15,
                 what=f"vmcast back to its {fds_before} fds after 60 closed connections")
        run.assert_alive()
