"""vmcast through PipeWire and WirePlumber restarts: real QEMU 7.2 and the test guest
(mode=shell), `vmcast run --web`, and its page in headless Chromium.

Contract under test: when the PipeWire daemon goes away, vmcast keeps running and its page keeps
the last picture with a notice saying why; once PipeWire is back, vmcast publishes its nodes
again under the same names with the console's current picture (the VM is paused meanwhile, so
the guest draws nothing that could bring it), and the page shows the VM again without a reload.
A WirePlumber restart alone leaves the nodes as they are and links them again.
"""
from __future__ import annotations

from guest_reboots import BOOT_TIMEOUT
from test_reboot import wait_equal
from web_page import browser, serve_and_open, wait_page_shows  # noqa: F401
from vmcast_testlib import MEASURABLE_HEAP_ENV, Qemu, process_usage, psnr, wait_for
from vmcast_testlib.gst_consumer import GstConsumer

RESTARTS = 5
# What the guest paints after each restart (and after WirePlumber's): each far from the last.
GREYS = [200, 60, 150, 30, 220, 100]
NODE = "vmcast.pwrestart.0"
NOTICE = "document.getElementById('notice').hidden ? '' : " \
         "document.getElementById('notice').textContent"


def new_consumer_gets_the_picture(session, expected, tmp_path, artifacts, label: str) -> None:
    """A pipewiresrc started now gets the console's picture, equal to QMP screendump."""
    gst = GstConsumer(session, NODE, tmp_path / label)
    try:
        wait_equal("pipewiresrc", gst.latest, expected, artifacts, label, timeout=30)
    finally:
        gst.proc.terminate()
        gst.proc.wait(timeout=10)


def paint_screen(qemu: Qemu, grey: int) -> None:
    """The guest's framebuffer filled with one grey, typed into its shell: a picture the page's
    video carries without loss, and far from any other grey (PSNR 14 dB for 50 levels apart)."""
    qemu.type_text(f"tr '\\0' '\\{grey:03o}' </dev/zero | head -c 3145728 >/dev/fb0\n")
    wait_for(lambda: qemu.screendump().pixel(512, 700) == (grey, grey, grey), 60, 0.5,
             what=f"the guest's screen painted grey {grey}")


def the_page_follows_the_guest(browser, qemu: Qemu, grey: int, artifacts, label: str) -> None:
    """The guest draws anew, and the page, never reloaded, shows it."""
    paint_screen(qemu, grey)
    qemu.stop()
    try:
        wait_page_shows(browser, qemu.screendump(), artifacts, label)
    finally:
        qemu.cont()
    assert browser.eval("p", "window.testMarker") == "not reloaded", "the page was reloaded"
    assert browser.eval("p", NOTICE) == "", "the notice stayed after the picture came back"


def restart_pipewire(session, browser, qemu: Qemu, tmp_path, artifacts, label: str,
                     late_page_url: str | None = None) -> None:
    """Kills PipeWire and WirePlumber with the VM paused: the page keeps its picture and says
    why; once both are back the node is too, and a new consumer gets the picture. A page opened
    at late_page_url while PipeWire is away says why it has no picture, and gets it once back."""
    qemu.stop()
    try:
        before = qemu.screendump()
        wait_page_shows(browser, before, artifacts, f"{label}-before")
        session.kill_daemon("wireplumber")
        session.kill_daemon("pipewire")
        wait_for(lambda: "PipeWire" in browser.eval("p", NOTICE), 30, 0.25,
                 what=f"{label}: the page's notice about PipeWire")
        kept = browser.frame("p")
        assert kept.size == before.size and psnr(kept, before) >= 30, \
            f"{label}: the page lost its picture while PipeWire was away"
        assert browser.state("p")["phase"] == "connected", browser.state("p")
        if late_page_url:
            browser.open("late", late_page_url)
            wait_for(lambda: "PipeWire" in browser.eval("late", NOTICE), 30, 0.25,
                     what=f"{label}: the notice on a page opened while PipeWire is away")
        session.start_daemon("pipewire")
        session.start_daemon("wireplumber")
        wait_for(lambda: session.find_node(NODE), 30, 0.3,
                 what=f"{label}: node {NODE} back after the restart")
        new_consumer_gets_the_picture(session, before, tmp_path, artifacts, label)
        if late_page_url:
            wait_page_shows(browser, before, artifacts, f"{label}-late", page="late")
            assert browser.eval("late", NOTICE) == "", "the late page kept its notice"
            browser.call("close", page="late")
    finally:
        qemu.cont()


def test_pipewire_and_wireplumber_killed_and_restarted(session, guest, vmcast_bin, artifacts,
                                                       tmp_path, browser):
    qemu = Qemu(session, "pwrestart", **guest.qemu_args("shell")).start()
    qemu.wait_serial("VMCAST-GUEST: ready mode=shell", BOOT_TIMEOUT)
    qemu.wait_screen_drawn()  # the shell reads what is typed once its prompt shows
    # vmcast allocates its streams' buffers itself where it offers DMA-BUFs (with a GPU): memfds
    # stand in for them here, so that buffers left behind by a restart show as descriptors.
    vmcast = serve_and_open(session, vmcast_bin, tmp_path, browser,
                            env={"VMCAST_TEST_MEMFD_DMABUFS": "1", **MEASURABLE_HEAP_ENV})
    browser.eval("p", "window.testMarker = 'not reloaded'")
    usage = []
    for restart in range(1, RESTARTS + 1):
        label = f"restart{restart}"
        restart_pipewire(session, browser, qemu, tmp_path, artifacts, label,
                         late_page_url=browser.eval("p", "location.href") if restart == 1
                         else None)
        the_page_follows_the_guest(browser, qemu, GREYS[restart - 1], artifacts, label)
        assert vmcast.poll() is None, f"vmcast exited in {label}"
        usage.append(process_usage(vmcast.pid))

    # What each restart makes goes with the next one: after the fifth vmcast holds no more file
    # descriptors than after the first, and little more memory (measured: 2.7 MiB, most of it
    # in the second round; a stream's buffers left behind were 8 descriptors and 9 MiB a round).
    print("vmcast anonymous KiB and fds after each restart:", usage)
    (rss_1, fds_1), (rss_5, fds_5) = usage[0], usage[-1]
    assert fds_5 <= fds_1, f"file descriptors grew from {fds_1} to {fds_5}: {usage}"
    assert rss_5 - rss_1 < 8192, f"memory grew from {rss_1} to {rss_5} KiB: {usage}"

    # WirePlumber alone: the node stays, and the links come back.
    node_id = session.find_node(NODE)["id"]
    session.kill_daemon("wireplumber")
    session.start_daemon("wireplumber")
    qemu.stop()
    try:
        new_consumer_gets_the_picture(session, qemu.screendump(), tmp_path, artifacts,
                                      "wireplumber")
    finally:
        qemu.cont()
    assert session.find_node(NODE)["id"] == node_id, "the node was made anew"
    the_page_follows_the_guest(browser, qemu, GREYS[-1], artifacts, "wireplumber")

    # One warning a restart: no flood while PipeWire is away.
    log = session.log_path("vmcast", "stderr").read_text(errors="replace")
    assert log.count("lost the connection to PipeWire") == RESTARTS, log[-3000:]
    assert vmcast.poll() is None
