"""Run real QEMU (`qemu-system-x86_64 -accel tcg -display dbus ...`) and drive it over QMP."""
from __future__ import annotations

import itertools
import json
import os
import re
import select
import socket
import subprocess
import time
from pathlib import Path
from typing import Any, Sequence

from .images import Image, read_ppm
from .util import tail, wait_for

QEMU_BIN = os.environ.get("VMCAST_QEMU_BIN", "qemu-system-x86_64")


def guest_append(mode: str) -> str:
    """Kernel command line for the test guest (tests/guest): serial console, VESA 1024x768x24."""
    return f"console=ttyS0 vga=0x318 vmcast.mode={mode}"


class QMPError(Exception):
    """QMP answered a command with an error (class and desc are in the message)."""


class QMP:
    """Minimal QMP client: capabilities negotiation, commands, async events, fd passing."""

    def __init__(self, path: str | os.PathLike, timeout: float = 30,
                 proc: subprocess.Popen | None = None):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._buf = b""
        self._ids = itertools.count(1)
        self.events: list[dict] = []

        def connect() -> bool:
            if proc is not None and proc.poll() is not None:
                raise AssertionError(f"QEMU exited ({proc.returncode}) before QMP was reachable")
            try:
                self.sock.connect(str(path))
                return True
            except (FileNotFoundError, ConnectionRefusedError):
                return False
        wait_for(connect, timeout, 0.05, what=f"QMP socket {path}")
        greeting = self._read(timeout)
        if "QMP" not in greeting:
            raise QMPError(f"unexpected QMP greeting {greeting}")
        self.execute("qmp_capabilities")

    def close(self) -> None:
        self.sock.close()

    def _read(self, timeout: float) -> dict:
        """Next JSON message (one per line) from QEMU."""
        deadline = time.monotonic() + timeout
        while b"\n" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.sock], [], [], left)[0]:
                raise TimeoutError("no answer from QMP")
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("QMP connection closed by QEMU")
            self._buf += chunk
        line, self._buf = self._buf.split(b"\n", 1)
        return json.loads(line)

    def execute(self, cmd: str, args: dict | None = None, *, fds: Sequence[int] = (),
                timeout: float = 30) -> Any:
        """Run a command and return its "return" value. `fds` travel with it as SCM_RIGHTS
        (for `getfd`). Events arriving meanwhile are kept in self.events."""
        msg_id = next(self._ids)
        msg: dict[str, Any] = {"execute": cmd, "id": msg_id}
        if args:
            msg["arguments"] = args
        data = json.dumps(msg).encode() + b"\n"
        if fds:
            socket.send_fds(self.sock, [data], list(fds))
        else:
            self.sock.sendall(data)
        deadline = time.monotonic() + timeout
        while True:
            reply = self._read(max(0.0, deadline - time.monotonic()))
            if "event" in reply:
                self.events.append(reply)
                continue
            if reply.get("id") != msg_id:
                continue  # an answer to an earlier command that timed out
            if "error" in reply:
                err = reply["error"]
                raise QMPError(f"{cmd}: {err.get('class')}: {err.get('desc')}")
            return reply.get("return")

    def wait_event(self, name: str, timeout: float = 30) -> dict:
        """Wait for (and consume) the next async event called `name`."""
        deadline = time.monotonic() + timeout
        while True:
            for i, ev in enumerate(self.events):
                if ev["event"] == name:
                    return self.events.pop(i)
            self.events.append(self._read(max(0.0, deadline - time.monotonic())))


class Qemu:
    """One QEMU process started through a Session (so it is logged and always killed).

    display: "dbus" (session bus of the Session env), or e.g. "none"; p2p/addr select the other
    -display dbus modes. vga: the -vga value ("std", "none"...); extra_args go last (e.g.
    ["-device", "VGA,id=vga1"] for a second console). Without kernel, SeaBIOS finds nothing to
    boot and stays on its text screen (720x400). Observed with `-vga std -device VGA,id=vga1`:
    SeaBIOS draws on vga1 (Console_1, 720x400) and Console_0 keeps QEMU's 640x480
    "not initialized" placeholder. audiodev: the id of an -audiodev dbus the display publishes
    (sound devices that play on it go in extra_args).
    """

    def __init__(self, session, name: str = "vmcast-test", *, kernel: str | None = None,
                 initrd: str | None = None, append: str | None = None, display: str = "dbus",
                 p2p: bool = False, addr: str | None = None, vga: str = "std",
                 extra_args: Sequence[str] = (), memory: int = 256, paused: bool = False,
                 reboots: bool = False, env: dict[str, str] | None = None,
                 audiodev: str | None = None):
        self.session = session
        self.name = name
        self.workdir = Path(session.tmpdir) / f"qemu-{name}"
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.qmp_path = self.workdir / "qmp.sock"
        self.serial_path = Path(session.log_dir) / f"qemu-{name}.serial.log"
        self.display = display
        self.p2p = p2p
        disp = display
        if display == "dbus":
            if p2p:
                disp += ",p2p=yes"
            elif addr:
                disp += f",addr={addr}"
            if audiodev:
                # The display publishes this -audiodev dbus (org.qemu.Display1.Audio).
                disp += f",audiodev={audiodev}"
        self.argv = [QEMU_BIN, "-accel", "tcg", "-m", str(memory), "-name", name,
                     # No default NIC/CD/floppy: the firmware-only screen is reached quickly
                     # ("No bootable device") and only the devices we ask for exist.
                     "-nodefaults", "-no-user-config",
                     "-display", disp, "-vga", vga,
                     "-qmp", f"unix:{self.qmp_path},server=on,wait=off",
                     "-serial", f"file:{self.serial_path}"]
        if not reboots:
            # A guest that panics or resets ends QEMU instead of looping; with -no-reboot, QMP
            # system_reset ends QEMU too.
            self.argv.append("-no-reboot")
        if paused:
            # -S: CPUs start stopped (QMP cont starts them), so a display client can attach
            # before the guest draws anything and see every mode switch.
            self.argv.append("-S")
        if audiodev:
            self.argv += ["-audiodev", f"dbus,id={audiodev}"]
        if kernel:
            self.argv += ["-kernel", str(kernel)]
        if initrd:
            self.argv += ["-initrd", str(initrd)]
        if append:
            self.argv += ["-append", append]
        self.argv += list(extra_args)
        self.env = env
        self.proc: subprocess.Popen | None = None
        self.qmp: QMP | None = None
        self._dumps = itertools.count()

    def __enter__(self) -> "Qemu":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.quit()

    def start(self, timeout: float = 60, wait_bus: bool = True) -> "Qemu":
        """Start QEMU and connect QMP; in D-Bus bus mode also wait until it queued for org.qemu."""
        self.proc = self.session.spawn(self.argv, name=f"qemu-{self.name}", env=self.env)
        try:
            self.qmp = QMP(self.qmp_path, timeout, self.proc)
            if wait_bus and self.display == "dbus" and not self.p2p:
                wait_for(self.dbus_unique_name, timeout, 0.2,
                         what=f"QEMU {self.name} to own/queue for org.qemu on the bus")
        except (AssertionError, OSError) as exc:
            raise AssertionError(f"QEMU {self.name} did not start: {exc}\n{self.stderr_tail()}\n"
                                 f"argv: {' '.join(self.argv)}") from exc
        return self

    def stderr_tail(self) -> str:
        return tail(self.session.log_path(self.proc.log_name, "stderr")) if self.proc else ""

    def dbus_unique_name(self) -> str | None:
        """Our QEMU's unique bus name among the org.qemu owners (matched by process id)."""
        if self.proc is not None and self.proc.poll() is not None:
            raise AssertionError(f"QEMU exited with status {self.proc.returncode}")
        for owner in self.session.queued_owners("org.qemu"):
            res = self.session.bus_call("GetConnectionUnixProcessID", owner)
            m = re.search(r"uint32 (\d+)", res.stdout) if res.returncode == 0 else None
            if m and int(m.group(1)) == self.proc.pid:
                return owner
        return None

    # -- QMP conveniences -------------------------------------------------------------------------
    def execute(self, cmd: str, args: dict | None = None, **kw: Any) -> Any:
        assert self.qmp, "QEMU not started"
        return self.qmp.execute(cmd, args, **kw)

    def stop(self) -> None:
        """Pause the VM. The guest and the virtual clock stop (so VGA text cursor blinking stops);
        the display still answers screendump and display clients."""
        self.execute("stop")

    def cont(self) -> None:
        self.execute("cont")

    def system_reset(self) -> None:
        """What `reboot` in the guest or libvirt's reset does: firmware, then the kernel again
        (needs reboots=True)."""
        self.execute("system_reset")

    # QEMU's key names (qcodes) for the characters type_text() knows.
    _QCODES = {" ": "spc", "/": "slash", "=": "equal", "-": "minus", ".": "dot", ";": "semicolon",
               "\n": "ret", "'": "apostrophe", "\\": "backslash",
               **{c: c for c in "abcdefghijklmnopqrstuvwxyz0123456789"}}
    # With Shift, on the guest's (US) keyboard layout.
    _SHIFTED = {"|": "backslash", "<": "comma", ">": "dot"}

    def type_text(self, text: str) -> None:
        """Types text on the guest's keyboard through QMP send-key (lower case, digits, space,
        newline and / = - . ; ' \\ | < >)."""
        for char in text:
            keys = [{"type": "qcode", "data": self._QCODES[char]}] if char in self._QCODES else \
                [{"type": "qcode", "data": "shift"},
                 {"type": "qcode", "data": self._SHIFTED[char]}]
            self.execute("send-key", {"keys": keys})

    def status(self) -> str:
        return self.execute("query-status")["status"]

    def screendump(self, device: str | None = None, head: int | None = None) -> Image:
        """The console as QEMU renders it (QMP screendump, PPM). device: a display device id
        (e.g. "vga1" for `-device VGA,id=vga1`); None means the first console."""
        path = self.workdir / f"screendump-{next(self._dumps)}.ppm"
        args: dict[str, Any] = {"filename": str(path)}
        if device is not None:
            args["device"] = device
        if head is not None:
            args["head"] = head
        self.execute("screendump", args)
        img = read_ppm(path)
        path.unlink()
        return img

    def wait_screen_drawn(self, timeout: float = 30) -> Image:
        """The first screendump of more than one colour: a guest may say it is ready on the
        serial port before it has drawn anything (the shell's prompt on its black tty1)."""
        return wait_for(lambda: (lambda img: img if not img.is_uniform() else None)(
            self.screendump()), timeout, 0.25, what="a picture on the guest's screen")

    def add_dbus_client(self) -> socket.socket:
        """p2p mode: hand QEMU one end of a socketpair (getfd + add_client @dbus-display) and
        return the other end, on which the client speaks D-Bus peer-to-peer."""
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            fdname = f"dbus-client-{next(self._dumps)}"
            self.execute("getfd", {"fdname": fdname}, fds=[theirs.fileno()])
            self.execute("add_client", {"protocol": "@dbus-display", "fdname": fdname})
        finally:
            theirs.close()
        return ours

    # -- serial console ---------------------------------------------------------------------------
    def serial_text(self) -> str:
        try:
            return self.serial_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def wait_serial(self, text: str, timeout: float = 120) -> str:
        """Wait until `text` appears on the guest's serial console; returns the whole log."""
        def seen() -> str | None:
            if self.proc is not None and self.proc.poll() is not None:
                raise AssertionError(f"QEMU exited with status {self.proc.returncode} while "
                                     f"waiting for {text!r}\n{self.stderr_tail()}\n"
                                     f"serial:\n{tail(self.serial_path)}")
            log = self.serial_text()
            return log if text in log else None
        try:
            return wait_for(seen, timeout, 0.25, what=f"{text!r} on the serial console")
        except AssertionError as exc:
            raise AssertionError(f"{exc}\nserial log tail:\n{tail(self.serial_path)}") from None

    # -- shutdown ---------------------------------------------------------------------------------
    def quit(self, timeout: float = 10) -> None:
        """Ask QEMU to quit over QMP, kill it if it does not. (Session.close() also kills it.)"""
        if self.proc is None:
            return
        if self.proc.poll() is None and self.qmp is not None:
            try:
                self.qmp.execute("quit", timeout=5)
            except (OSError, QMPError, TimeoutError, ValueError):
                pass
        if self.qmp is not None:
            self.qmp.close()
            self.qmp = None
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=5)
