"""Keyboard and mouse input into real QEMU 7.2 through vmcast's ConsoleInput, driven by the
vmcast-send-input test tool on a private session bus.

  vmcast-send-input [--address ADDR | --qmp SOCKET] [--vm NAME] [--console N] [--type TEXT]
                    [--keys CODE,...] [--click X,Y] [--move X,Y] [--verbose]
      exits 0 once every call was sent and QEMU accepted it; prints "mouse absolute|relative".

Typing goes through QEMU's PS/2 keyboard to the test guest's shell on the VGA console; clicks go
through a USB tablet (-device qemu-xhci -device usb-tablet) to the guest's evdev devices, which
the guest's `input` mode reports on its serial console.
"""
from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from vmcast_testlib import Qemu, compare, wait_for

BOOT_TIMEOUT = 180   # TCG on two slow cores
SEND_TIMEOUT = 120   # typing a line takes a few seconds, more when the machine is busy
CONSOLE_PATH = "/org/qemu/Display1/Console_0"


@pytest.fixture(scope="session")
def send_input_bin() -> Path:
    value = os.environ.get("VMCAST_SEND_INPUT_BIN")
    if not value:
        pytest.skip("VMCAST_SEND_INPUT_BIN is not set: vmcast-send-input not built "
                    "(run through `meson test`)")
    path = Path(value)
    if not os.access(path, os.X_OK):
        pytest.fail(f"VMCAST_SEND_INPUT_BIN={value} is not an executable file")
    return path


def send_input(session, binary: Path, *args: str) -> str:
    """Runs vmcast-send-input against the session's bus; its stdout."""
    res = session.run([str(binary), "--verbose", *args], timeout=SEND_TIMEOUT)
    assert res.returncode == 0, (f"vmcast-send-input {' '.join(args)!r} failed "
                                 f"({res.returncode}):\n{res.stdout}{res.stderr}")
    return res.stdout


def mouse_is_absolute(session, qemu: Qemu) -> bool:
    """QEMU's Mouse.IsAbsolute property, read with gdbus."""
    res = session.run(["gdbus", "call", "--address", session.bus_address,
                       "--dest", qemu.dbus_unique_name(), "--object-path", CONSOLE_PATH,
                       "--method", "org.freedesktop.DBus.Properties.Get",
                       "org.qemu.Display1.Mouse", "IsAbsolute"], timeout=10)
    assert res.returncode == 0, res.stderr
    return "true" in res.stdout


def left_button_events(qemu: Qemu) -> list[int]:
    """Values (1 press, 0 release) of the guest's BTN_LEFT events on the USB tablet."""
    return [int(value) for value in
            re.findall(r"VMCAST-GUEST: BTN_LEFT value=(\d+) dev=\S+ name=.*Tablet",
                       qemu.serial_text())]


def test_typed_line_runs_in_the_guest_shell(send_input_bin, guest, make_session, artifacts):
    """Only a right mapping of letters, digits, punctuation, Shift and Enter makes the guest's
    shell print VMCAST-TYPED-42 to the serial port: `$((6*7))` needs $ ( * ) with Shift."""
    session = make_session(pipewire=False)
    qemu = Qemu(session, "typing", **guest.qemu_args("shell")).start()
    qemu.wait_serial("VMCAST-GUEST: ready mode=shell", BOOT_TIMEOUT)
    before = qemu.wait_screen_drawn()

    out = send_input(session, send_input_bin,
                     "--type", "echo VMCAST-TYPED-$((6*7)) > /dev/ttyS0\n")
    assert "mouse relative" in out, out  # a PS/2 mouse only: QEMU takes relative motion

    try:
        qemu.wait_serial("VMCAST-TYPED-42", 60)
    except AssertionError:
        artifacts.save_image("screen-after-typing", qemu.screendump())
        raise
    after = qemu.screendump()
    changed = compare(before, after).differing_pixels
    assert changed > 100, f"the typed line did not show on the VGA console ({changed} pixels)"


def test_keys_by_browser_code(send_input_bin, guest, make_session):
    """--keys takes KeyboardEvent.code names: the same kind of line typed key by key, with
    Shift held through a chord."""
    session = make_session(pipewire=False)
    qemu = Qemu(session, "keys", **guest.qemu_args("shell")).start()
    qemu.wait_serial("VMCAST-GUEST: ready mode=shell", BOOT_TIMEOUT)
    qemu.wait_screen_drawn()

    # echo KEYS_OK >/dev/ttyS0  (the underscore is Shift+Minus)
    keys = ("KeyE,KeyC,KeyH,KeyO,Space,ShiftLeft+KeyK,ShiftRight+KeyE,ShiftLeft+KeyY,"
            "ShiftLeft+KeyS,ShiftLeft+Minus,ShiftLeft+KeyO,ShiftLeft+KeyK,Space,"
            "ShiftLeft+Period,Slash,KeyD,KeyE,KeyV,Slash,KeyT,KeyT,KeyY,ShiftLeft+KeyS,Digit0,"
            "NumpadEnter")
    send_input(session, send_input_bin, "--keys", keys)
    qemu.wait_serial("KEYS_OK", 60)


def test_typing_over_a_p2p_connection(send_input_bin, guest, make_session):
    """-display dbus,p2p=yes: ConsoleInput on a connection without bus names. The tool gets its
    own QMP monitor, since a monitor serves one client at a time."""
    session = make_session(dbus=False, pipewire=False)
    qmp_path = Path(session.tmpdir) / "send-input-qmp.sock"
    monitor = ["-chardev", f"socket,id=input-qmp,path={qmp_path},server=on,wait=off",
               "-mon", "chardev=input-qmp,mode=control"]
    qemu = Qemu(session, "p2p-typing", **guest.qemu_args("shell"), p2p=True,
                extra_args=monitor).start()
    qemu.wait_serial("VMCAST-GUEST: ready mode=shell", BOOT_TIMEOUT)
    qemu.wait_screen_drawn()

    send_input(session, send_input_bin, "--qmp", str(qmp_path),
               "--type", "echo P2P-TYPED-$((2+3)) >/dev/ttyS0\n")
    qemu.wait_serial("P2P-TYPED-5", 60)


def wait_for_clicks(qemu: Qemu, count: int, what: str) -> list[int]:
    """The guest's BTN_LEFT values once there are `count`; on a time-out the error carries what
    QEMU routes pointer events to (`info mice`) and the end of the guest's serial log."""
    try:
        return wait_for(lambda: (lambda e: e if len(e) >= count else None)(
            left_button_events(qemu)), 120, 0.5, what=what)
    except AssertionError as timeout:
        mice = qemu.execute("human-monitor-command", {"command-line": "info mice"})
        raise AssertionError(f"{timeout}\nQEMU's mice:\n{mice}\n"
                             f"guest serial log (end):\n{qemu.serial_text()[-3000:]}") from None


def test_tablet_click_reaches_the_guest(send_input_bin, guest, make_session):
    """With a USB tablet active in the guest, QEMU's mouse is absolute and a click at a console
    position arrives in the guest as a BTN_LEFT press and release."""
    session = make_session(pipewire=False)
    qemu = Qemu(session, "tablet", **guest.qemu_args("input"),
                extra_args=["-device", "qemu-xhci", "-device", "usb-tablet"]).start()
    log = qemu.wait_serial("VMCAST-GUEST: ready mode=input", BOOT_TIMEOUT)
    assert "tablet=none" not in log, f"the guest found no USB tablet:\n{log[-3000:]}"
    # Linux polls the tablet, so QEMU makes it the active pointer; the guest is ready once it
    # reads the tablet's events.
    wait_for(lambda: mouse_is_absolute(session, qemu), 60, 0.5,
             what="QEMU's Mouse.IsAbsolute to become true")
    assert left_button_events(qemu) == []

    out = send_input(session, send_input_bin, "--click", "512,384")
    assert "mouse absolute" in out, out
    events = wait_for_clicks(qemu, 2, "the click (BTN_LEFT press and release) in the guest")
    assert events == [1, 0], events

    # Far outside the console: clamped to its last pixel, so QEMU takes it ("Invalid mouse
    # position" would make the tool fail).
    send_input(session, send_input_bin, "--click", "100000,100000")
    assert wait_for_clicks(qemu, 4, "the second click") == [1, 0, 1, 0]
