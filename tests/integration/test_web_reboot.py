"""The page through guest reboots: real QEMU 7.2 and the test guest (mode=shell) in headless
Chromium. A reboot changes the console's size twice within a fraction of a second; the page
keeps showing the console and, once the guest's shell is back, shows it without a reload."""
from __future__ import annotations

from guest_reboots import BOOT_TIMEOUT, reboot_to_shell, scribble_screen
from web_page import browser, serve_and_open, wait_page_shows  # noqa: F401
from vmcast_testlib import Qemu

REBOOTS = 5


def test_the_page_shows_the_guest_after_each_reboot(session, guest, vmcast_bin, artifacts,
                                                    tmp_path, browser):
    qemu = Qemu(session, "webreboot", reboots=True, **guest.qemu_args("shell")).start()
    qemu.wait_serial("VMCAST-GUEST: ready mode=shell", BOOT_TIMEOUT)
    qemu.wait_screen_drawn()  # the shell reads what is typed once its prompt shows
    vmcast = serve_and_open(session, vmcast_bin, tmp_path, browser)
    for reboot in range(1, REBOOTS + 1):
        scribble_screen(qemu)
        reboot_to_shell(qemu)
        qemu.stop()
        wait_page_shows(browser, qemu.screendump(), artifacts, f"reboot{reboot}")
        state = browser.state("p")
        assert state["phase"] == "connected" and state["errors"] == [], state
        qemu.cont()
    assert vmcast.poll() is None
