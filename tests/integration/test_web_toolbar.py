"""The page's toolbar in real headless Chromium, with the fake QEMU peer as the VM (its Keyboard
calls are recorded): key combinations clicked through the toolbar's buttons, "type text" in a
US and a German layout, the guest's keyboard lights, fullscreen with Keyboard Lock, and bad
toolbar input. Typing into the real guest through the panel is in test_web_qemu.py.

Meson runs this file inside a network namespace that has only loopback (unshare --net).
"""
from __future__ import annotations

import json
from collections import Counter

import pytest

from vmcast_testlib import wait_for

# The page's fixtures (web, browser) come as a plugin; its asserts are rewritten as a test's
# only when it is registered before the import of its helpers.
pytest.register_assert_rewrite("web_page")
pytest_plugins = ("web_page",)
from web_page import key_events, open_page, served_peer, shown, show_toolbar  # noqa: E402

CTRL, ALT, SHIFT, ALTGR = 0x1d, 0x38, 0x2a, 0xb8
FUNCTION_KEYS = [0x3b, 0x3c, 0x3d, 0x3e, 0x3f, 0x40, 0x41, 0x42, 0x43, 0x44, 0x57, 0x58]
COMBOS = {
    "ctrl-alt-del": [CTRL, ALT, 0xd3],
    "ctrl-alt-backspace": [CTRL, ALT, 0x0e],
    "print": [0x54],
    "sysrq": [ALT, 0x54],
    "super": [0xdb],
    **{f"ctrl-alt-f{i + 1}": [CTRL, ALT, key] for i, key in enumerate(FUNCTION_KEYS)},
}


def pressed_in_order(keys: list[int]) -> list[tuple[str, int]]:
    """Each key pressed in order, then released last first."""
    return [("press", k) for k in keys] + [("release", k) for k in reversed(keys)]


def tapped(key: int, *modifiers: int) -> list[tuple[str, int]]:
    return ([("press", m) for m in modifiers] + [("press", key), ("release", key)] +
            [("release", m) for m in reversed(modifiers)])


def wait_keys(peer, mark: int, count: int, what: str) -> list[tuple[str, int]]:
    return wait_for(lambda: (lambda e: e if len(e) >= count else None)(key_events(peer, mark)),
                    20, 0.1, what=what)


def nothing_held(peer, mark: int) -> bool:
    counts = Counter()
    for action, key in key_events(peer, mark):
        counts[key] += 1 if action == "press" else -1
    return all(value == 0 for value in counts.values())


def fill_type_panel(browser, text: str) -> None:
    """The type panel open with text in it, not yet sent."""
    show_toolbar(browser)
    browser.call("activate", page="p", selector="#type-button")
    browser.eval("p", f"document.getElementById('type-text').value = {json.dumps(text)}")


def errors(browser) -> list[str]:
    return browser.state("p")["errors"]


def test_toolbar_combinations_reach_the_vm_in_order(session, artifacts, tmp_path, web, browser):
    port, _ = web
    with served_peer(session, artifacts, tmp_path, web, "combos") as run:
        open_page(browser, port, "p")
        # Hidden at first; the pointer at the top edge shows it.
        assert not shown(browser, "#keys-button")
        browser.call("pointer", page="p", x=550, y=300)
        browser.call("pointer", page="p", x=550, y=4)
        wait_for(lambda: shown(browser, "#keys-button"), 5, 0.1, what="the toolbar shown")

        for name, keys in COMBOS.items():
            mark = run.peer.mark()
            browser.call("activate", page="p", selector="#keys-button")
            browser.call("activate", page="p", selector=f"[data-combo='{name}']")
            expected = pressed_in_order(keys)
            events = wait_keys(run.peer, mark, len(expected), f"{name} in QEMU")
            assert events == expected, (name, events)
            assert browser.eval("p", "document.getElementById('keys-menu').hidden") is True

        # Keyboard only: Enter opens the menu, arrows move, Esc closes it and gives focus back;
        # none of those keys reaches the VM.
        mark = run.peer.mark()
        browser.call("press", page="p", focus="#keys-button", keys="Enter")
        wait_for(lambda: browser.eval("p", "document.activeElement.dataset.combo") ==
                 "ctrl-alt-del", 5, 0.1, what="focus on the menu's first item")
        browser.call("press", page="p", focus=":focus", keys="ArrowDown")
        assert browser.eval("p", "document.activeElement.dataset.combo") == "ctrl-alt-backspace"
        browser.call("press", page="p", focus=":focus", keys="Escape")
        assert browser.eval("p", "document.getElementById('keys-menu').hidden") is True
        assert browser.eval("p", "document.activeElement.id") == "keys-button"
        assert browser.eval("p", "document.getElementById('keys-button')"
                                 ".getAttribute('aria-expanded')") == "false"
        browser.call("type", page="p", text="a")
        assert wait_keys(run.peer, mark, 2, "KeyA after the menu") == tapped(0x1e)
        assert errors(browser) == []
        run.assert_alive()


def test_type_text_in_the_guests_layout(session, artifacts, tmp_path, web, browser):
    port, _ = web
    with served_peer(session, artifacts, tmp_path, web, "typing") as run:
        open_page(browser, port, "p")

        def type_text(text: str, layout: str) -> None:
            show_toolbar(browser)
            if browser.eval("p", "document.getElementById('type-panel').hidden"):
                browser.call("activate", page="p", selector="#type-button")
            browser.eval("p", f"document.getElementById('type-text').value = {json.dumps(text)}")
            browser.eval("p", f"document.getElementById('type-layout').value = '{layout}'")
            browser.call("activate", page="p", selector="#type-start")

        def typed() -> str:
            return wait_for(lambda: (lambda s: s if s in ("done", "refused", "cancelled")
                                     else None)(browser.state("p")["typing"]), 30, 0.1,
                            what="the page's typing finished")

        # US: Shift for capitals and "@", Enter for a line end. "done" comes once the last key
        # is sent; the peer may record it a moment later.
        mark = run.peer.mark()
        type_text("zZ@\n", "us")
        assert typed() == "done"
        expected = tapped(0x2c) + tapped(0x2c, SHIFT) + tapped(0x03, SHIFT) + tapped(0x1c)
        assert wait_keys(run.peer, mark, len(expected), "the text in QEMU") == expected
        # German: z and y swap places, "@" is AltGr+Q, "Ä" Shift+the key right of L.
        mark = run.peer.mark()
        type_text("zy@Ä", "de")
        assert typed() == "done"
        expected = tapped(0x15) + tapped(0x2c) + tapped(0x10, ALTGR) + tapped(0x28, SHIFT)
        assert wait_keys(run.peer, mark, len(expected), "the text in QEMU") == expected
        assert browser.eval("p", "document.getElementById('type-message').textContent") == \
            "typed"

        # Every layout the picker offers is one vmcast knows and compiles: "." types in each.
        layouts = browser.eval("p", "[...document.querySelectorAll('#type-layout option')]"
                                    ".map(o => o.value)")
        assert len(layouts) >= 16 and layouts[0] == "us", layouts
        for layout in layouts:
            mark = run.peer.mark()
            type_text(".", layout)
            assert typed() == "done", (layout, browser.state("p")["errors"][-1:])
            assert len(key_events(run.peer, mark)) >= 2, layout

        # With the guest's Caps Lock on, it is tapped off for the text and on again after.
        assert run.peer.command("set-modifiers value=4")["ok"]
        wait_for(lambda: browser.state("p")["leds"]["caps"], 10, 0.1, what="Caps Lock shown")
        mark = run.peer.mark()
        type_text("aB", "us")
        assert typed() == "done"
        expected = tapped(0x3a) + tapped(0x1e) + tapped(0x30, SHIFT) + tapped(0x3a)
        assert wait_keys(run.peer, mark, len(expected), "the text in QEMU") == expected
        assert run.peer.command("set-modifiers value=0")["ok"]
        wait_for(lambda: not browser.state("p")["leds"]["caps"], 10, 0.1, what="Caps Lock off")

        # What the layout cannot type is refused by name, and nothing is typed.
        mark = run.peer.mark()
        type_text("5 € and 6 ¤", "us")
        assert typed() == "refused"
        message = browser.eval("p", "document.getElementById('type-message').textContent")
        assert message == ('the keyboard layout "us" cannot type "€" (U+20AC), "¤" (U+00A4); '
                           'nothing was typed'), message
        # So is a text over 2000 characters.
        type_text("a" * 2001, "us")
        assert typed() == "refused"
        message = browser.eval("p", "document.getElementById('type-message').textContent")
        assert message == "a text of 2001 characters is too long to type (at most 2000)", message
        assert key_events(run.peer, mark) == []

        # Cancelled halfway, every key it pressed is released. Capitals hold Shift three
        # quarters of the time, so three cancels all but surely catch one held.
        for _ in range(3):
            mark = run.peer.mark()
            type_text("HELLO WORLD " * 40, "us")
            wait_keys(run.peer, mark, 40, "typing under way")
            browser.call("activate", page="p", selector="#type-cancel")
            assert typed() == "cancelled"
            wait_for(lambda: nothing_held(run.peer, mark), 10, 0.1, what="every key released")
            count = len(key_events(run.peer, mark))
            assert count < 12 * 40 * 4, count

        # The page going away while typing lets go of the keys too.
        mark = run.peer.mark()
        type_text("ABCDEFGHIJKLMNOPQRSTUVWXYZ" * 4, "us")
        wait_keys(run.peer, mark, 30, "typing under way")
        browser.call("close", page="p")
        wait_for(lambda: nothing_held(run.peer, mark), 10, 0.1,
                 what="every key released after the page left")
        run.assert_alive()


def test_the_page_losing_focus_does_not_break_a_typed_text(session, artifacts, tmp_path, web,
                                                           browser):
    port, _ = web
    with served_peer(session, artifacts, tmp_path, web, "blur") as run:
        open_page(browser, port, "p")
        text = "HELLO WORLD " * 4
        fill_type_panel(browser, text)
        mark = run.peer.mark()
        # The page's "release" (each blur with a key or finger down) every 15 ms while the text
        # types, so some come while vmcast holds Shift for a capital.
        browser.eval("p", """window.releases = setInterval(() =>
            window.vmcast.channel().send('{"type":"release"}'), 15)""")
        browser.call("activate", page="p", selector="#type-start")
        wait_for(lambda: browser.state("p")["typing"] == "done", 30, 0.1, what="typed")
        browser.eval("p", "clearInterval(window.releases)")
        letters = {"H": 0x23, "E": 0x12, "L": 0x26, "O": 0x18, "W": 0x11, "R": 0x13, "D": 0x20}
        expected = [event for c in text
                    for event in (tapped(0x39) if c == " " else tapped(letters[c], SHIFT))]
        assert wait_keys(run.peer, mark, len(expected), "the text in QEMU") == expected
        run.assert_alive()


def test_a_key_held_on_the_picture_is_released_over_the_toolbar(session, artifacts, tmp_path,
                                                                web, browser):
    port, _ = web
    with served_peer(session, artifacts, tmp_path, web, "held") as run:
        open_page(browser, port, "p")
        show_toolbar(browser)
        mark = run.peer.mark()
        # Shift held on the picture, let go while a toolbar button has focus (it was clicked).
        browser.call("hold", page="p", key="Shift", downFocus="#stage",
                     upFocus="#fullscreen-button")
        assert browser.eval("p", "document.activeElement.id") == "fullscreen-button"
        assert wait_keys(run.peer, mark, 2, "Shift let go in QEMU") == [("press", SHIFT),
                                                                          ("release", SHIFT)]
        # Keys typed into the toolbar's own controls still stay out of the VM.
        show_toolbar(browser)
        browser.call("press", page="p", focus="#fullscreen-button", keys="KeyA")
        assert browser.eval("p", "document.activeElement.id") == "fullscreen-button"
        browser.call("type", page="p", text="b")
        assert wait_keys(run.peer, mark, 4, "KeyB after") == [("press", SHIFT),
                                                              ("release", SHIFT)] + tapped(0x30)
        run.assert_alive()


def test_a_text_vmcast_dropped_does_not_keep_the_panel_waiting(session, artifacts, tmp_path,
                                                               web, browser):
    port, _ = web
    with served_peer(session, artifacts, tmp_path, web, "dropped") as run:
        open_page(browser, port, "p")
        fill_type_panel(browser, "x")
        # vmcast drops a text without an answer in an input flood (past its key budget), but
        # which message of a flood it drops depends on timing: the channel loses this one.
        browser.eval("p", """(() => {
            const channel = window.vmcast.channel();
            const send = channel.send;
            channel.send = (text) => {
                if (JSON.parse(text).type !== 'type') return send.call(channel, text);
                delete channel.send;
            };
            document.getElementById('type-start').click();
        })()""")
        assert browser.state("p")["typing"] == "sent"
        wait_for(lambda: browser.state("p")["typing"] == "refused", 20, 0.2,
                 what="the panel no longer waiting")
        assert "no answer" in browser.eval(
            "p", "document.getElementById('type-message').textContent")
        # The panel takes a text again, and vmcast types it.
        wait_for(lambda: not browser.eval("p", "document.getElementById('type-start').disabled"),
                 5, 0.1, what="the type button enabled")
        mark = run.peer.mark()
        browser.call("activate", page="p", selector="#type-start")
        wait_for(lambda: browser.state("p")["typing"] == "done", 20, 0.1, what="typed")
        assert key_events(run.peer, mark) == tapped(0x2d)
        run.assert_alive()


def test_guest_keyboard_lights_show_on_the_page(session, artifacts, tmp_path, web, browser):
    port, _ = web
    with served_peer(session, artifacts, tmp_path, web, "leds") as run:
        open_page(browser, port, "p")
        lit = "['caps','num','scroll'].filter(n => " \
              "document.getElementById('led-' + n).classList.contains('on'))"
        assert browser.eval("p", lit) == []
        for value, expected in ((5, ["caps", "scroll"]), (2, ["num"]), (0, [])):
            result = run.peer.command(f"set-modifiers value={value}")
            assert result["ok"], result
            wait_for(lambda: browser.eval("p", lit) == expected, 10, 0.1,
                     what=f"the page lighting {expected}")
            leds = browser.state("p")["leds"]
            assert [n for n in ("caps", "num", "scroll") if leds[n]] == expected, leds
        # A page that opens later sees the lights as they are.
        run.peer.command("set-modifiers value=4")
        browser.open("late", browser.eval("p", "location.href"))
        wait_for(lambda: browser.state("late").get("leds", {}).get("caps"), 20, 0.2,
                 what="a new page showing Caps Lock on")


def test_fullscreen_locks_the_keyboard(session, artifacts, tmp_path, web, browser):
    port, _ = web
    with served_peer(session, artifacts, tmp_path, web, "fullscreen") as run:
        open_page(browser, port, "p")
        show_toolbar(browser)
        browser.call("activate", page="p", selector="#fullscreen-button")
        state = wait_for(lambda: (lambda s: s if s["fullscreen"] and s["keyboardLock"] != "off"
                                  else None)(browser.state("p")), 10, 0.1,
                         what="the page in fullscreen")
        assert state["keyboardLock"] == "active", state
        assert browser.eval("p", "document.fullscreenElement === document.documentElement")
        note = browser.eval("p", "document.getElementById('keyboard-lock-note').textContent")
        assert note.startswith("All keys go to the VM"), note
        # Ctrl+W, a browser shortcut, goes to the VM.
        mark = run.peer.mark()
        browser.call("press", page="p", keys="Control+KeyW")
        assert wait_keys(run.peer, mark, 4, "Ctrl+W in QEMU") == tapped(0x11, CTRL)
        browser.call("activate", page="p", selector="#fullscreen-button")
        wait_for(lambda: browser.state("p")["keyboardLock"] == "off" and
                 not browser.state("p")["fullscreen"], 10, 0.1, what="fullscreen left")

        # A browser without Keyboard Lock (Firefox): the page says which keys it keeps.
        browser.eval("p", "Object.defineProperty(navigator, 'keyboard', { value: undefined })")
        browser.call("activate", page="p", selector="#fullscreen-button")
        wait_for(lambda: browser.state("p")["keyboardLock"] == "unsupported", 10, 0.1,
                 what="fullscreen without keyboard lock")
        note = browser.eval("p", "document.getElementById('keyboard-lock-note').textContent")
        assert note == ("This browser keeps Esc (leaves fullscreen), Ctrl+W, Ctrl+T, Ctrl+N, "
                        "Ctrl+Tab, Alt+Tab, Alt+F4 and the Windows key; the Keys menu sends "
                        "them."), note
        assert shown(browser, "#keyboard-lock-note")


def test_toolbar_fits_a_phone(session, artifacts, tmp_path, web, browser):
    port, _ = web
    with served_peer(session, artifacts, tmp_path, web, "phone"):
        open_page(browser, port, "p")
        browser.call("viewport", page="p", width=360, height=640)
        show_toolbar(browser)
        for control in ("#fullscreen-button", "#keys-button", "#type-button", "#leds"):
            wait_for(lambda: shown(browser, control), 5, 0.1, what=f"{control} on a phone")
        browser.call("activate", page="p", selector="#keys-button")
        assert shown(browser, "[data-combo='ctrl-alt-del']")
        browser.call("activate", page="p", selector="#type-button")
        assert shown(browser, "#type-start")


def test_bad_toolbar_input_is_refused_and_nothing_stays_held(session, artifacts, tmp_path, web,
                                                             browser):
    port, _ = web
    with served_peer(session, artifacts, tmp_path, web, "badtoolbar") as run:
        open_page(browser, port, "p")
        bad = {
            '{"type":"combo","name":"ctrl-alt-f13"}': 'unknown key combination "ctrl-alt-f13"',
            '{"type":"combo","name":["ctrl-alt-del"]}': 'a combo message needs a string "name"',
            '{"type":"combo"}': 'a combo message needs a string "name"',
            '{"type":"type","text":"abc","layout":"klingon"}': 'unknown keyboard layout "klingon"',
            '{"type":"type","text":42,"layout":"us"}':
                'a type message needs a non-empty string "text" and a string "layout"',
            '{"type":"type","text":"","layout":"us"}':
                'a type message needs a non-empty string "text" and a string "layout"',
            json.dumps({"type": "type", "text": "x" * 60000, "layout": "us"}):
                "message of 60044 bytes (at most 8256)",
        }
        mark = run.peer.mark()
        for text in bad:
            browser.eval("p", f"window.vmcast.channel().send({json.dumps(text)})")
        wait_for(lambda: len(errors(browser)) >= len(bad), 10, 0.1, what="every refusal")
        assert errors(browser) == list(bad.values())
        assert key_events(run.peer, mark) == []

        # A combination while a text is typed is refused; the typing goes on to its end.
        send = "window.vmcast.channel().send(JSON.stringify({m}))"
        browser.eval("p", send.format(m='{type: "type", text: "abcdefghij", layout: "us"}'))
        browser.eval("p", send.format(m='{type: "combo", name: "ctrl-alt-del"}'))
        wait_for(lambda: browser.state("p")["typing"] == "done", 10, 0.1, what="typed")
        assert errors(browser)[-1] == "a text is being typed: cancel it before ctrl-alt-del"
        wait_for(lambda: len(key_events(run.peer, mark)) >= 20, 10, 0.1, what="the text")
        assert all(key not in (CTRL, ALT, 0xd3) for _, key in key_events(run.peer, mark))
        assert nothing_held(run.peer, mark)
        # A cancel with nothing being typed does nothing.
        browser.eval("p", send.format(m='{type: "cancel-typing"}'))
        browser.call("type", page="p", text="q")
        wait_for(lambda: key_events(run.peer, mark)[-2:] == tapped(0x10), 10, 0.1,
                 what="keys still reaching QEMU")
        run.assert_alive()
