"""The VM's text clipboard on vmcast's page, through org.qemu.Display1.Clipboard, with the fake
QEMU peer playing QEMU and its guest (a real guest needs a clipboard agent, spice-vdagent, which
the test guest cannot run): the guest copying (QEMU calls vmcast's Grab, vmcast fetches the text
with QEMU's Request) and pasting (QEMU calls vmcast's Request).

Meson runs this file inside a network namespace that has only loopback (unshare --net).
"""
from __future__ import annotations

import json

from vmcast_testlib import wait_for
from web_page import VIEW_TOKEN, browser, open_page, served_peer, web  # noqa: F401

TEXT_MIME = "text/plain;charset=utf-8"


def guest_copies(run, text: str = "", **args) -> dict:
    words = " ".join(f"{k}={v}" for k, v in args.items())
    return run.peer.command(f"clipboard-guest-copy text_hex={text.encode().hex()} {words}",
                            timeout=15, check=True)


def guest_pastes(run) -> dict:
    return run.peer.command("clipboard-guest-paste", timeout=15)


def page_clipboard(browser, page: str):
    return browser.state(page)["vmClipboard"]


def send_from_panel(browser, page: str, text: str) -> None:
    browser.eval(page, "document.getElementById('clipboard-toggle').click()")
    browser.eval(page, f"document.getElementById('clipboard-text').value = {json.dumps(text)}")
    browser.eval(page, "document.getElementById('clipboard-send').click()")


def test_clipboard_both_ways(session, artifacts, tmp_path, web, browser):
    port, _ = web
    with served_peer(session, artifacts, tmp_path, web, "clip") as run:
        run.peer.wait_event("clipboard-register", 15)
        open_page(browser, port, "p")

        # The guest copies: the page shows the text and puts it on the system clipboard.
        copied = "héllo from the guest ✓\n\tsecond line"
        guest_copies(run, copied)
        wait_for(lambda: page_clipboard(browser, "p") == copied, 10,
                 what="the guest's text on the page")
        assert browser.eval("p", "document.getElementById('clipboard-text').value") == copied
        assert browser.eval("p", "navigator.clipboard.readText()") == copied
        # A page that opens later gets the current text too.
        open_page(browser, port, "late")
        wait_for(lambda: page_clipboard(browser, "late") == copied, 10,
                 what="the guest's text on a page opened later")

        # Text sent from the page's panel is what the guest pastes: 60000 characters, so it
        # travels in several data channel messages.
        sent = "vmcast → VM " + "0123456789" * 6000
        mark = run.peer.mark()
        send_from_panel(browser, "p", sent)
        grab = run.peer.wait_event("clipboard-grab", 10, since=mark)
        assert grab["selection"] == 0 and grab["mimes"] == [TEXT_MIME] and grab["taken"], grab
        pasted = guest_pastes(run)
        assert pasted["ok"] and pasted["mime"] == TEXT_MIME, {**pasted, "text": "…"}
        assert pasted["text"] == sent

        # The paste shortcut: the host's clipboard reaches QEMU before the V key does, so the
        # guest pastes what the user meant.
        browser.eval("p", "navigator.clipboard.writeText('from the host clipboard')")
        mark = run.peer.mark()
        browser.call("press", page="p", keys="Control+V")
        run.peer.wait_event("key", 10, since=mark,
                            predicate=lambda e: e["keycode"] == 0x1d and e["action"] == "release")
        order = [e["event"] if e["event"] != "key" else f"key-{e['action']}-{e['keycode']:#x}"
                 for e in run.peer.events(since=mark) if e["event"] in ("key", "clipboard-grab")]
        assert order == ["key-press-0x1d", "clipboard-grab", "key-press-0x2f",
                         "key-release-0x2f", "key-release-0x1d"], order
        assert guest_pastes(run)["text"] == "from the host clipboard"

        # QEMU restarts its serials (Register from QEMU): the next grab starts over and wins.
        run.peer.command("clipboard-reset", check=True)
        mark = run.peer.mark()
        send_from_panel(browser, "p", "after the reset")
        grab = run.peer.wait_event("clipboard-grab", 10, since=mark)
        assert grab["serial"] == 1 and grab["taken"], grab
        assert guest_pastes(run)["text"] == "after the reset"
        run.assert_alive()


def test_bad_clipboard_input_is_refused(session, artifacts, tmp_path, web, browser):
    port, _ = web
    with served_peer(session, artifacts, tmp_path, web, "badclip") as run:
        registered = run.peer.wait_event("clipboard-register", 15)
        open_page(browser, port, "p")
        guest_copies(run, "good text")
        wait_for(lambda: page_clipboard(browser, "p") == "good text", 10,
                 what="the first good text on the page")

        # From the guest: bytes that are not UTF-8, a text over 1 MiB, a reply of another
        # MIME type: not passed on. A grab offering no text is not even fetched. The test records
        # every text the page gets from here on: one passed on, then replaced by the next good
        # one, still shows.
        browser.eval("p", """(() => { const state = window.vmcast.state;
            let text = state.vmClipboard;
            window.clipboardTexts = [];
            Object.defineProperty(state, 'vmClipboard', { configurable: true, enumerable: true,
              get: () => text, set: (value) => { text = value; window.clipboardTexts.push(value); }
            }); })()""")
        for what, copy in (("a text over 1 MiB", lambda: guest_copies(run, size=1024 * 1024 + 1)),
                           ("bytes that are not UTF-8", lambda: run.peer.command(
                               "clipboard-guest-copy text_hex=c328ff00", check=True)),
                           ("a reply of type text/html",
                            lambda: guest_copies(run, "<b>markup</b>", mime="text/html"))):
            mark = run.peer.mark()
            copy()
            # vmcast fetched it (and then refused it), before the next copy replaces it.
            try:
                run.peer.wait_event("clipboard-request", 10, since=mark)
            except TimeoutError:
                raise AssertionError(f"vmcast did not fetch {what} from the guest") from None
        mark = run.peer.mark()
        guest_copies(run, "an image", offer="image/png")
        guest_copies(run, "good again")
        wait_for(lambda: page_clipboard(browser, "p") == "good again", 10,
                 what="the next good text on the page")
        requests = run.peer.events("clipboard-request", since=mark)
        assert len(requests) == 1, requests  # only for the grab that offered text
        texts = browser.eval("p", "window.clipboardTexts")
        assert texts == ["good again"], [text[:80] for text in texts]

        # From the page: malformed pieces, a text over 1 MiB, a view-only viewer.
        channel = "window.vmcast.channel()"
        for bad in ['{"type":"clipboard","text":5,"last":true}',
                    '{"type":"clipboard","text":"no end flag"}']:
            browser.eval("p", f"{channel}.send({json.dumps(bad)})")
        browser.eval("p", f"""(() => {{ const piece = 'y'.repeat(60000);
            for (let i = 0; i < 20; i++)
              {channel}.send(JSON.stringify({{type: 'clipboard', text: piece, last: i == 19}}));
            }})()""")
        errors = wait_for(lambda: (lambda e: e if len(e) >= 3 else None)(
            browser.state("p")["errors"]), 10, what="errors for the bad clipboard messages")
        assert any("a clipboard message needs" in e for e in errors), errors
        assert any("clipboard text over 1024 KiB" in e for e in errors), errors
        open_page(browser, port, "view", VIEW_TOKEN)
        browser.eval("view", f"{channel}.send(JSON.stringify("
                             "{type: 'clipboard', text: 'sneaky', last: true}))")
        wait_for(lambda: any("may only watch" in e for e in browser.state("view")["errors"]),
                 10, what="vmcast refusing the view-only viewer's clipboard")
        assert browser.state("view")["vmClipboard"] is None  # nor does it see the guest's
        assert [e for e in run.peer.events("clipboard-grab", since=mark)] == []

        # Only QEMU may call vmcast's clipboard: another client on the bus is turned away.
        res = session.run(["gdbus", "call", "--address", session.bus_address, "--dest",
                           registered["peer"], "--object-path", "/org/qemu/Display1/Clipboard",
                           "--method", "org.qemu.Display1.Clipboard.Request", "0",
                           f"['{TEXT_MIME}']"], timeout=10)
        assert res.returncode != 0 and "AccessDenied" in res.stderr, (res.stdout, res.stderr)

        # Still working after all that.
        mark = run.peer.mark()
        send_from_panel(browser, "p", "still fine")
        run.peer.wait_event("clipboard-grab", 10, since=mark)
        assert guest_pastes(run)["text"] == "still fine"
        run.assert_alive()
