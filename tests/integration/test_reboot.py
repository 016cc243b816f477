"""Guest reboots with consumers attached: real QEMU 7.2 and the test guest, QMP system_reset (what
`reboot` in the guest or libvirt's reset does). A reboot goes 1024x768 -> SeaBIOS text (720x400)
-> 1024x768 within a fraction of a second, with no Scanout for the text mode. Once the guest's
shell is back (the screen was scribbled over before, so the old picture cannot pass for it),
every consumer's last picture equals QMP screendump, and a consumer that joins then gets that
picture first. GStreamer's pipewiresrc is among the consumers: in PipeWire 0.3.65
it stops for good when its stream is paused, as a renegotiation does."""
from __future__ import annotations

from guest_reboots import BOOT_TIMEOUT, reboot_to_shell, scribble_screen
from vmcast_testlib import Qemu, compare, wait_for
from vmcast_testlib.consumer import FrameConsumer
from vmcast_testlib.gst_consumer import GstConsumer

REBOOTS = 5
NODE = "vmcast.reboot.0"


def wait_equal(what: str, latest, expected, artifacts, label: str, timeout: float = 20) -> None:
    last = {}

    def equal() -> bool:
        last["image"] = image = latest()
        return image is not None and compare(image, expected).equal
    try:
        wait_for(equal, timeout, 0.25, what=f"{what}'s picture to equal screendump")
    except AssertionError:
        artifacts.save_image(f"{label}-screendump", expected)
        if last.get("image") is not None:
            artifacts.save_image(f"{label}-{what}", last["image"])
            raise AssertionError(f"{label}: {what}: "
                                 f"{compare(last['image'], expected).describe(last['image'], expected)}")
        raise


def test_every_consumer_follows_five_reboots(vmcast_bin, consumer_bin, guest, session, tmp_path,
                                             artifacts):
    qemu = Qemu(session, "reboot", reboots=True, **guest.qemu_args("shell")).start()
    qemu.wait_serial("VMCAST-GUEST: ready mode=shell", BOOT_TIMEOUT)
    qemu.wait_screen_drawn()  # the shell reads what is typed once its prompt shows
    vmcast = session.spawn([str(vmcast_bin), "run", "--verbose"], name="vmcast")
    wait_for(lambda: session.find_node(NODE), 30, 0.3, what=f"PipeWire node {NODE}")
    own = FrameConsumer(session, NODE, tmp_path / "own.frame")
    gst = GstConsumer(session, NODE, tmp_path / "gst")
    own.wait_pictures(1, 30)
    wait_for(gst.latest, 30, 0.3, what="pipewiresrc's first picture")

    for reboot in range(1, REBOOTS + 1):
        label = f"reboot{reboot}"
        scribble_screen(qemu)
        reboot_to_shell(qemu)
        qemu.stop()
        expected = qemu.screendump()
        assert expected.size == (1024, 768) and not expected.is_uniform(), expected.size
        wait_equal("vmcast-frame-consumer", own.latest_image, expected, artifacts, label)
        wait_equal("pipewiresrc", gst.latest, expected, artifacts, label)
        assert gst.alive(), "gst-launch-1.0 exited"
        with FrameConsumer(session, NODE, tmp_path / f"late-{reboot}.frame") as late:
            late.wait_pictures(1, 20)
            first = late.latest_image()
            assert compare(first, expected).equal, \
                f"{label}: the late consumer's first picture: {compare(first, expected).describe(first, expected)}"
        qemu.cont()
    own.assert_no_bad_buffers()
    assert vmcast.poll() is None
    log = session.log_path("vmcast", "stderr").read_text()
    assert "kept every buffer" not in log, "a consumer stalled the stream during the reboots"
