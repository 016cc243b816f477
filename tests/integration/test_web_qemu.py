"""The web page end to end with real QEMU 7.2 and the test guest (mode=web: a shell on the VGA
console, and a USB tablet whose clicks the guest reports on its serial port), in headless
Chromium inside a loopback-only network namespace. QMP screendump is the picture's oracle."""
from __future__ import annotations

import re

import pytest

from vmcast_testlib import Qemu, wait_for

# The page's fixture (browser) comes as a plugin; its asserts are rewritten as a test's only
# when it is registered before the import of its helpers.
pytest.register_assert_rewrite("web_page")
pytest_plugins = ("web_page",)
from web_page import choose_scale, serve_and_open, wait_page_shows  # noqa: E402

BOOT_TIMEOUT = 180  # TCG on two slow cores


def left_button_events(qemu: Qemu) -> list[int]:
    return [int(value) for value in
            re.findall(r"VMCAST-GUEST: BTN_LEFT value=(\d+) dev=\S+ name=.*Tablet",
                       qemu.serial_text())]


def wait_guest_output(qemu: Qemu, artifacts, text: str) -> None:
    """Waits for the guest's shell to print text on its serial port; saves its screen if not."""
    try:
        qemu.wait_serial(text, 90)
    except AssertionError:
        artifacts.save_image(f"screen-waiting-for-{text}", qemu.screendump())
        raise


def test_browser_watches_types_and_clicks_into_a_real_vm(session, guest, vmcast_bin, artifacts,
                                                         tmp_path, browser):
    qemu = Qemu(session, "webvm", **guest.qemu_args("web"),
                extra_args=["-device", "qemu-xhci", "-device", "usb-tablet"]).start()
    log = qemu.wait_serial("VMCAST-GUEST: ready mode=web", BOOT_TIMEOUT)
    assert "tablet=none" not in log, log[-2000:]

    vmcast = serve_and_open(session, vmcast_bin, tmp_path, browser)

    # The picture: with the VM paused, what the page decodes is QEMU's own screendump.
    qemu.stop()
    wait_page_shows(browser, qemu.screendump(), artifacts, "screendump")
    qemu.cont()

    # Keys typed into the page run in the guest's shell: `$((6*7))` needs Shift.
    browser.call("type", page="p", text="echo VMCAST-TYPED-$((6*7)) > /dev/ttyS0\n")
    wait_guest_output(qemu, artifacts, "VMCAST-TYPED-42")

    # The tablet makes QEMU's mouse absolute; a click on the page lands in the guest.
    wait_for(lambda: browser.state("p")["absolute"], 60, 0.5,
             what="the page learning that the mouse is absolute")
    assert left_button_events(qemu) == []
    browser.call("click", page="p", x=512, y=384)
    events = wait_for(lambda: (lambda e: e if len(e) >= 2 else None)(left_button_events(qemu)),
                      90, 0.5, what="the click (BTN_LEFT press and release) in the guest")
    assert events == [1, 0], events

    # QEMU 7.2 takes vmcast as its clipboard peer, and takes the page's text as the clipboard
    # (the guest would need spice-vdagent to paste it; test_web_clipboard.py covers that part).
    # QEMU has one clipboard peer and refuses any other client, as it does here for the test.
    res = session.run(["gdbus", "call", "--address", session.bus_address, "--dest", "org.qemu",
                       "--object-path", "/org/qemu/Display1/Clipboard",
                       "--method", "org.qemu.Display1.Clipboard.Register"], timeout=10)
    assert res.returncode != 0 and "Clipboard peer already registered" in res.stderr, \
        f"QEMU has no clipboard peer (vmcast should be it): {res.stdout}{res.stderr}"
    browser.eval("p", "document.getElementById('clipboard-toggle').click()")
    browser.eval("p", "document.getElementById('clipboard-text').value = 'to the VM'")
    browser.eval("p", "document.getElementById('clipboard-send').click()")
    assert browser.state("p")["clipboardSent"] == 1
    browser.call("type", page="p", text="echo VMCAST-AFTER-CLIPBOARD > /dev/ttyS0\n")
    qemu.wait_serial("VMCAST-AFTER-CLIPBOARD", 90)
    # vmcast took the text for the VM: it tells the page when it cannot (no clipboard peer, a
    # bad text). Whether QEMU then accepted vmcast's Grab only vmcast sees (the test guest has
    # no clipboard agent), so that stays a check of vmcast's warning.
    assert browser.state("p")["errors"] == []

    # The toolbar's "type text": vmcast presses the keys itself, paced for the guest's PS/2
    # keyboard, with Shift where the US layout needs it ("$", "(", "*", ">").
    browser.call("press", page="p", focus="#toolbar-handle", keys="Enter")
    browser.call("activate", page="p", selector="#type-button")
    browser.eval("p", "document.getElementById('type-text').value = "
                      "'echo VMCAST-PANEL-$((6*7)) > /dev/ttyS0\\n'")
    browser.call("activate", page="p", selector="#type-start")
    wait_guest_output(qemu, artifacts, "VMCAST-PANEL-42")
    wait_for(lambda: browser.state("p")["typing"] == "done", 10, 0.2,
             what="the page saying the text is typed")
    vmcast_log = session.log_path("vmcast", "stderr").read_text(errors="replace")
    assert "refused vmcast's clipboard" not in vmcast_log
    assert vmcast.poll() is None


@pytest.mark.parametrize("vga", ["virtio", "std"])
def test_real_qemu_answers_the_window_size(session, vmcast_bin, tmp_path, browser, vga):
    """Resize-to-window reaches QEMU 7.2's Console.SetUIInfo: virtio-vga takes it (a guest
    with virtio-gpu's driver then follows), std VGA cannot and the page says so. No guest: the
    firmware's screen is enough for QEMU to answer."""
    Qemu(session, f"size-{vga}", vga=vga).start()
    serve_and_open(session, vmcast_bin, tmp_path, browser)
    wait_for(lambda: browser.eval("p", "window.vmcast.channel()?.readyState === 'open'"), 15,
             what="the page's input channel")
    choose_scale(browser, "p", "resize")
    size = browser.eval("p", """(() => { const s = document.getElementById('stage');
        return `${Math.round(s.clientWidth * devicePixelRatio)}x` +
               `${Math.round(s.clientHeight * devicePixelRatio)}`; })()""")
    if vga == "virtio":
        wait_for(lambda: browser.state("p")["displaySize"] == size, 20,
                 what=f"QEMU taking the window's size {size}")
        assert browser.state("p")["errors"] == []
    else:
        wait_for(lambda: any("does not follow the window size" in e
                             for e in browser.state("p")["errors"]), 20,
                 what="QEMU refusing SetUIInfo for std VGA")
        assert browser.state("p")["displaySize"] == ""
