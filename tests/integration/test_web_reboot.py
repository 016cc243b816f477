"""The page through guest reboots: real QEMU 7.2 and the test guest (mode=shell) in headless
Chromium. A reboot changes the console's size twice within a fraction of a second; the page
keeps showing the console and, once the guest's shell is back, shows it without a reload."""
from __future__ import annotations

import pytest

from guest_reboots import BOOT_TIMEOUT, reboot_to_shell, scribble_screen
from web_page import FULL_TOKEN, http_status
from vmcast_testlib import Qemu, free_port, psnr, wait_for
from vmcast_testlib.browser import Browser

REBOOTS = 5


@pytest.fixture
def browser(artifacts):
    with Browser(artifacts.path("browser.log")) as b:
        yield b


def test_the_page_shows_the_guest_after_each_reboot(session, guest, vmcast_bin, artifacts,
                                                    tmp_path, browser):
    qemu = Qemu(session, "webreboot", reboots=True, **guest.qemu_args("shell")).start()
    qemu.wait_serial("VMCAST-GUEST: ready mode=shell", BOOT_TIMEOUT)
    token_file = tmp_path / "tokens"
    token_file.write_text(f"{FULL_TOKEN}\n")
    port = free_port()
    vmcast = session.spawn([str(vmcast_bin), "run", "--verbose", "--web", f"127.0.0.1:{port}",
                            "--web-token-file", str(token_file)], name="vmcast")
    wait_for(lambda: vmcast.poll() is None and
             http_status(f"http://127.0.0.1:{port}/")[0] == 200, 30, 0.3,
             what="vmcast serving the page")
    browser.open("p", f"http://127.0.0.1:{port}/?token={FULL_TOKEN}")
    browser.wait_decoding("p", timeout=60)

    for reboot in range(1, REBOOTS + 1):
        scribble_screen(qemu)
        reboot_to_shell(qemu)
        qemu.stop()
        expected = qemu.screendump()
        best = {"psnr": 0.0}

        def shows_the_shell() -> bool:
            frame = browser.frame("p")
            best.update(frame=frame, psnr=psnr(frame, expected) if frame.size == expected.size
                        else 0.0)
            return best["psnr"] >= 30
        try:
            wait_for(shows_the_shell, 30, 0.5,
                     what=f"the page showing the shell after reboot {reboot}")
        except AssertionError:
            artifacts.save_image(f"reboot{reboot}-screendump", expected)
            if "frame" in best:
                artifacts.save_image(f"reboot{reboot}-page", best["frame"])
            raise AssertionError(f"reboot {reboot}: best PSNR {best['psnr']:.1f} dB, page "
                                 f"state {browser.state('p')}") from None
        state = browser.state("p")
        assert state["phase"] == "connected" and state["errors"] == [], state
        qemu.cont()
    assert vmcast.poll() is None
