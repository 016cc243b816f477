"""What the reboot tests do to the test guest (mode=shell): scribble over its screen, so that the
screen after a reboot cannot be mistaken for the one before, and reboot it to its shell."""
from __future__ import annotations

from vmcast_testlib import Qemu, wait_for

BOOT_TIMEOUT = 180  # TCG on two slow cores


def scribble_screen(qemu: Qemu) -> None:
    """Random bytes over the guest's framebuffer, typed into its shell."""
    qemu.type_text("dd if=/dev/urandom of=/dev/fb0 bs=3072 count=768\n")
    # Random pixels: the first row alone has hundreds of colours.
    wait_for(lambda: len({qemu.screendump().pixel(x, 0) for x in range(0, 1024, 4)}) > 100,
             60, 0.5, what="random pixels on the guest's screen")


def reboot_to_shell(qemu: Qemu) -> None:
    """QMP system_reset, then the guest's shell again, its prompt on the screen."""
    booted = len(qemu.serial_text())
    qemu.system_reset()
    wait_for(lambda: "VMCAST-GUEST: ready mode=shell" in qemu.serial_text()[booted:],
             BOOT_TIMEOUT, 0.5, what="the guest's shell after the reboot")
    qemu.wait_screen_drawn()
