"""The page's view controls against the fake QEMU peer in real Chromium: resize-to-window
(Console.SetUIInfo), the screenshot button, touch (Chromium's touch emulation, the pointer
emulation and QEMU 8.1's MultiTouch), the device keyboard button, and a phone-sized window.
Real QEMU's answer to SetUIInfo is in test_web_qemu.py.

Meson runs this file inside a network namespace that has only loopback (unshare --net).
"""
from __future__ import annotations

import base64
import json
import time
import urllib.request

import web_page
from vmcast_testlib import compare, read_png, read_vmcast_frame, wait_for
from web_page import (FULL_TOKEN, VIEW_TOKEN, choose_scale, console_url, http_status, open_page,
                      served_peer, show_toolbar, wait_input_channel)

# The page tests' fixtures.
web = web_page.web
browser = web_page.browser

# What the page asks for: its stage in device pixels.
STAGE_SIZE = """(() => { const s = document.getElementById('stage');
    return [Math.round(s.clientWidth * devicePixelRatio),
            Math.round(s.clientHeight * devicePixelRatio)]; })()"""


def open_with_absolute_mouse(browser, port: int, peer) -> None:
    """The page open, once it knows QEMU's mouse is absolute (a tablet in the guest)."""
    assert peer.command("set-absolute value=1")["ok"]
    open_page(browser, port, "p")
    wait_for(lambda: browser.state("p")["absolute"], 10, what="the page's absolute mouse")


def ui_infos(peer, since: int) -> list[tuple[int, int]]:
    return [(e["width"], e["height"]) for e in peer.events("ui-info", since=since)
            if "error" not in e]


def wait_error(browser, page: str, text: str) -> None:
    wait_for(lambda: any(text in e for e in browser.state(page)["errors"]), 10,
             what=f"page {page} told: {text}")


def send_raw(browser, page: str, message: dict) -> None:
    browser.eval(page, f"window.vmcast.channel().send({json.dumps(json.dumps(message))})")


def test_resize_to_window(session, artifacts, tmp_path, web, browser):
    port, _ = web
    with served_peer(session, artifacts, tmp_path, web, "resize") as run:
        peer = run.peer
        open_page(browser, port, "p")
        mark = peer.mark()
        choose_scale(browser, "p", "resize")
        size = tuple(browser.eval("p", STAGE_SIZE))
        event = peer.wait_event("ui-info", since=mark, timeout=10)
        assert (event["width"], event["height"]) == size, event
        assert event["width_mm"] == round(size[0] * 25.4 / 96), event
        wait_for(lambda: browser.state("p")["displaySize"] == f"{size[0]}x{size[1]}", 10,
                 what="the page hearing that QEMU took the size")

        # A burst of window sizes, as dragging a window's edge makes: fewer calls than sizes (one
        # unless the busy machine spaced two resizes by more than the page's 400 ms), the last
        # with the last size.
        mark = peer.mark()
        sizes = [(900, 700), (940, 720), (980, 740), (1000, 760), (1024, 768)]
        for width, height in sizes:
            browser.call("viewport", page="p", width=width, height=height)
        final = tuple(browser.eval("p", STAGE_SIZE))
        wait_for(lambda: final in ui_infos(peer, mark), 10, what="SetUIInfo with the last size")
        time.sleep(1.5)  # a later call would come within the page's 400 ms
        calls = ui_infos(peer, mark)
        assert calls[-1] == final and len(calls) < len(sizes), calls

        # The page asks again when its input channel opens again (here: a reload, which keeps
        # the chosen mode).
        mark = peer.mark()
        browser.eval("p", "location.reload()")
        wait_input_channel(browser, "p")
        wait_for(lambda: final in ui_infos(peer, mark), 10, what="SetUIInfo after the reload")

        # Sizes out of range are refused with a reason, and never reach QEMU.
        mark = peer.mark()
        for bad in [{"width": 100000, "height": 600}, {"width": 10, "height": 600},
                    {"width": 800.5, "height": 600}, {"width": 800}]:
            send_raw(browser, "p", {"type": "resize", "widthMm": 0, "heightMm": 0, **bad})
        wait_error(browser, "p", '"width" 320 to 8192')
        # A display device that cannot resize: QEMU's refusal reaches the page.
        assert peer.command("set-ui-info supported=0")["ok"]
        send_raw(browser, "p", {"type": "resize", "width": 800, "height": 600, "widthMm": 0,
                                "heightMm": 0})
        wait_error(browser, "p", "does not follow the window size")
        calls = [(e["width"], e.get("error")) for e in peer.events("ui-info", since=mark)]
        assert calls == [(800, "SetUIInfo is not supported")], calls

        # A view-only viewer may not resize the VM.
        browser.open("view", console_url(port, "resize", VIEW_TOKEN))
        browser.wait_decoding("view")
        wait_input_channel(browser, "view")
        assert peer.command("set-ui-info supported=1")["ok"]
        mark = peer.mark()
        send_raw(browser, "view", {"type": "resize", "width": 800, "height": 600, "widthMm": 0,
                                   "heightMm": 0})
        wait_error(browser, "view", "resizing the VM needs the full-access token")
        assert peer.events("ui-info", since=mark) == []
        # Its page does not offer what it may not do; it shows the picture fitted instead.
        assert browser.eval("view", "[document.querySelector('#scale-mode option[value=resize]')"
                                    ".disabled, document.getElementById('scale-mode').value]"
                            ) == [True, "fit"]
        run.assert_alive()


def test_screenshot_button(session, artifacts, tmp_path, web, browser):
    port, _ = web
    base = f"http://127.0.0.1:{port}"
    with served_peer(session, artifacts, tmp_path, web, "shot") as run:
        # Without a page watching, there is no stream to take it from.
        status, text = http_status(f"{base}/screenshot?token={FULL_TOKEN}")
        assert status == 409 and "no page watches" in text, (status, text)
        open_page(browser, port, "p")
        result, expected_path = run.send("update x=40 y=30 width=100 height=60 "
                                         "pattern=checker:8")
        assert result["ok"], result
        expected = read_vmcast_frame(expected_path)

        def downloaded():
            show_toolbar(browser)
            answer = browser.call("download", page="p", selector="#screenshot")
            path = tmp_path / answer["name"]
            path.write_bytes(base64.b64decode(answer["data"]))
            image = read_png(path)
            return (answer["name"], image) if image.size == expected.size and \
                compare(image, expected).max_channel_diff == 0 else None
        name, image = wait_for(downloaded, 15, 1, what="a screenshot equal to the peer's picture")
        assert name.startswith("shot-console-0-") and name.endswith(".png"), name

        # The same rules as the page: a token, which view-only has too.
        assert http_status(f"{base}/screenshot?token=wrong-token-0000000000")[0] == 403
        assert http_status(f"{base}/screenshot?token={VIEW_TOKEN}&console=7")[0] == 404
        request = f"{base}/screenshot?token={VIEW_TOKEN}"
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.headers["Content-Type"] == "image/png"
            assert response.read().startswith(b"\x89PNG")
        run.assert_alive()


def touch(browser, page: str, kind: str, *points) -> None:
    browser.call("touch", page=page, type=kind, points=[{"x": x, "y": y} for x, y in points])


def buttons(peer, since: int) -> list[tuple[str, int]]:
    return [(e["action"], e["button"]) for e in peer.events("mouse-button", since=since)]


def wait_click_at(peer, since: int, point: tuple[int, int], what: str) -> list:
    """Waits for a click (a press and a release) with the pointer last moved to point; the
    button events."""
    wait_for(lambda: len(buttons(peer, since)) >= 2, 10, what=what)
    moves = [(e["x"], e["y"]) for e in peer.events("mouse-abs", since=since)]
    assert moves and moves[-1] == point, moves
    return buttons(peer, since)


def test_touch_drives_the_pointer(session, artifacts, tmp_path, web, browser):
    port, _ = web
    with served_peer(session, artifacts, tmp_path, web, "touch") as run:
        peer = run.peer
        open_with_absolute_mouse(browser, port, peer)

        # A tap: a left click where the finger was.
        mark = peer.mark()
        touch(browser, "p", "touchStart", (100, 50))
        touch(browser, "p", "touchEnd")
        assert wait_click_at(peer, mark, (100, 50), "the tap's click") == [("press", 0),
                                                                            ("release", 0)]

        # Two fingers moving up scroll down: wheel-down clicks (button 4).
        mark = peer.mark()
        touch(browser, "p", "touchStart", (150, 150), (170, 150))
        for y in range(146, 89, -4):
            touch(browser, "p", "touchMove", (150, y), (170, y))
        touch(browser, "p", "touchEnd")
        wait_for(lambda: buttons(peer, mark), 10, what="the two-finger scroll's wheel")
        time.sleep(0.5)
        clicks = buttons(peer, mark)
        assert clicks and set(clicks) == {("press", 4), ("release", 4)}, clicks

        # A two-finger tap: a right click.
        mark = peer.mark()
        touch(browser, "p", "touchStart", (200, 100), (220, 100))
        touch(browser, "p", "touchEnd")
        assert wait_click_at(peer, mark, (210, 100), "the right click") == [("press", 2),
                                                                             ("release", 2)]

        # A pinch zooms the view, not the VM: no input, and the picture is larger.
        mark = peer.mark()
        width = browser.eval("p", "document.getElementById('screen')"
                                  ".getBoundingClientRect().width")
        touch(browser, "p", "touchStart", (150, 100), (170, 100))
        for spread in range(24, 80, 4):
            touch(browser, "p", "touchMove", (160 - spread // 2, 100), (160 + spread // 2, 100))
        touch(browser, "p", "touchEnd")
        zoomed = browser.eval("p", "document.getElementById('screen')"
                                   ".getBoundingClientRect().width")
        assert zoomed > width * 1.5, (width, zoomed)
        assert peer.events("mouse-button", since=mark) == []

        # A tap on the zoomed view still lands on the console pixel under the finger.
        mark = peer.mark()
        touch(browser, "p", "touchStart", (160, 110))
        touch(browser, "p", "touchEnd")
        wait_click_at(peer, mark, (160, 110), "the zoomed tap's click")
        run.assert_alive()


def test_pointer_in_one_to_one_mode(session, artifacts, tmp_path, web, browser):
    port, _ = web
    with served_peer(session, artifacts, tmp_path, web, "native") as run:
        peer = run.peer
        open_with_absolute_mouse(browser, port, peer)
        choose_scale(browser, "p", "native")
        # One console pixel per screen pixel, at the stage's top left corner.
        box = browser.eval("p", """(() => { const v = document.getElementById('screen');
            const r = v.getBoundingClientRect(); const s = document.getElementById('stage')
            .getBoundingClientRect(); return [r.left - s.left, r.top - s.top,
            r.width * devicePixelRatio, r.height * devicePixelRatio]; })()""")
        assert box == [0, 0, 320, 200], box
        mark = peer.mark()
        browser.call("click", page="p", x=50, y=60)
        wait_click_at(peer, mark, (50, 60), "the click")
        run.assert_alive()


def test_multitouch_reaches_qemu_8_1(session, artifacts, tmp_path, web, browser):
    port, _ = web
    with served_peer(session, artifacts, tmp_path, web, "mt", version="8.1") as run:
        peer = run.peer
        open_page(browser, port, "p")
        assert browser.state("p")["multitouch"] is True
        mark = peer.mark()
        touch(browser, "p", "touchStart", (10, 20))
        touch(browser, "p", "touchStart", (10, 20), (300, 190))
        touch(browser, "p", "touchMove", (12, 24), (300, 190))
        touch(browser, "p", "touchEnd", (12, 24))
        touch(browser, "p", "touchEnd")
        wait_for(lambda: len(peer.events("touch", since=mark)) >= 5, 10,
                 what="the touches at the peer's MultiTouch")
        touches = peer.events("touch", since=mark)
        slots = {slot: [(e["kind"], round(e["x"]), round(e["y"])) for e in touches
                        if e["slot"] == slot] for slot in (0, 1)}
        # Kinds: 0 begin, 1 update, 2 end. The second finger may get updates where it stands.
        assert slots[0] == [(0, 10, 20), (1, 12, 24), (2, 12, 24)], touches
        assert slots[1][0] == (0, 300, 190) and slots[1][-1] == (2, 300, 190), touches
        assert all(t == (1, 300, 190) for t in slots[1][1:-1]), touches
        assert len(touches) == len(slots[0]) + len(slots[1]), touches
        assert peer.events("mouse-button", since=mark) == []

        # A finger down when the page loses focus is lifted in the guest (cancel, 3), and its
        # slot is free again: the next finger is slot 0 again.
        mark = peer.mark()
        touch(browser, "p", "touchStart", (50, 60))
        wait_for(lambda: peer.events("touch", since=mark), 10, what="the finger down")
        browser.eval("p", "window.dispatchEvent(new Event('blur'))")
        wait_for(lambda: len(peer.events("touch", since=mark)) >= 2, 10,
                 what="the finger lifted in the guest")
        touch(browser, "p", "touchEnd")
        touch(browser, "p", "touchStart", (70, 80))
        touch(browser, "p", "touchEnd")
        wait_for(lambda: len(peer.events("touch", since=mark)) >= 4, 10, what="the next finger")
        assert [(e["kind"], e["slot"], round(e["x"]), round(e["y"]))
                for e in peer.events("touch", since=mark)] == [
            (0, 0, 50, 60), (3, 0, 50, 60), (0, 0, 70, 80), (2, 0, 70, 80)]

        # Slots and points out of range are refused with a reason.
        mark = peer.mark()
        for bad in [{"slot": 10, "x": 1, "y": 1}, {"slot": -1, "x": 1, "y": 1},
                    {"slot": 0, "x": -3, "y": 1}, {"slot": 0, "x": 1e9, "y": 1}]:
            send_raw(browser, "p", {"type": "touch", "kind": "begin", **bad})
        send_raw(browser, "p", {"type": "touch", "kind": "poke", "slot": 0, "x": 1, "y": 1})
        wait_error(browser, "p", '"slot" 0 to 9')
        send_raw(browser, "p", {"type": "touch", "kind": "begin", "slot": 0, "x": 320, "y": 5})
        wait_error(browser, "p", "outside the 320x200 console")
        assert peer.events("touch", since=mark) == []
        run.assert_alive()


def test_phone_sized_window_and_device_keyboard(session, artifacts, tmp_path, web, browser):
    port, _ = web
    with served_peer(session, artifacts, tmp_path, web, "phone") as run:
        open_page(browser, port, "p")
        browser.call("viewport", page="p", width=390, height=844)
        boxes = browser.eval("p", """(() => Object.fromEntries(['screen', 'scale-mode',
            'screenshot', 'keyboard-button', 'clipboard-toggle', 'list-link'].map(id => {
            const r = document.getElementById(id).getBoundingClientRect();
            return [id, [r.left, r.top, r.right, r.bottom]]; })))()""")
        for name, (left, top, right, bottom) in boxes.items():
            assert right > left and bottom > top, (name, boxes)
            assert left >= 0 and top >= 0 and right <= 390 and bottom <= 844, (name, boxes)
        left, top, right, bottom = boxes["screen"]
        assert right - left == 390 and bottom - top > 600, boxes
        assert browser.eval("p", "document.getElementById('screen').videoWidth") == 320

        # The keyboard button opens the device keyboard; what it types reaches the VM as keys,
        # paced by vmcast, in the layout picked in the toolbar's type panel (US by default).
        mark = run.peer.mark()
        browser.eval("p", "document.getElementById('keyboard-button').click()")
        assert browser.eval("p", "document.activeElement.id") == "keyboard-input"
        browser.call("insert", page="p", text="Hi")
        browser.call("insert", page="p", text="!")
        wait_for(lambda: len(run.peer.events("key", since=mark)) >= 10, 10, what="the keys")
        keys = [(e["action"], e["keycode"]) for e in run.peer.events("key", since=mark)]
        assert keys == [("press", 0x2a), ("press", 0x23), ("release", 0x23), ("release", 0x2a),
                        ("press", 0x17), ("release", 0x17),
                        ("press", 0x2a), ("press", 0x02), ("release", 0x02), ("release", 0x2a)
                        ], keys
        # German: z and y swap places, "@" is AltGr+Q.
        browser.eval("p", "document.getElementById('type-layout').value = 'de'")
        mark = run.peer.mark()
        browser.call("insert", page="p", text="zy@")
        wait_for(lambda: len(run.peer.events("key", since=mark)) >= 8, 10, what="the keys")
        keys = [(e["action"], e["keycode"]) for e in run.peer.events("key", since=mark)]
        assert keys == [("press", 0x15), ("release", 0x15), ("press", 0x2c), ("release", 0x2c),
                        ("press", 0xb8), ("press", 0x10), ("release", 0x10), ("release", 0xb8)
                        ], keys
        run.assert_alive()
