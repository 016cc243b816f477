"""Drive vmcast-fake-qemu, the fake QEMU "-display dbus" peer, from integration tests.

    with FakeQemu(env, name="vm1", version="8.1") as fq:
        fq.wait_event("listener")            # vmcast registered on console 0
        r = fq.command("scanout width=640 height=480 format=x8r8g8b8 pattern=gradient")
        assert r["ok"], r
        fq.send("update", x=0, y=0, width=16, height=16, pattern="solid:ff0000")

The binary is taken from env["VMCAST_FAKE_QEMU_BIN"] (or os.environ). It connects to the session bus of env
(DBUS_SESSION_BUS_ADDRESS) unless address= is given, or serves one p2p connection on p2p_fd.
Every stdout line of the peer is JSON: command results carry "cmd" and the "id" this wrapper
adds; everything else is an event ({"event": ...}).
"""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import threading
import time
from typing import Any, Callable, Iterable, Optional


class FakeQemuError(RuntimeError):
    """A command failed (check=True) or the peer misbehaved."""

    def __init__(self, message: str, result: Optional[dict] = None):
        super().__init__(message)
        self.result = result


# Keyword names of send() that the peer spells with a dash.
_DASHED = {"truncate_after": "truncate-after"}


class FakeQemu:
    def __init__(
        self,
        env: dict,
        name: str = "fake",
        consoles: int = 1,
        version: str = "7.2",
        extra_args: Iterable[str] = (),
        address: Optional[str] = None,
        p2p_fd: Optional[int] = None,
        wait_ready: Optional[bool] = None,
        ready_timeout: float = 10.0,
    ):
        binary = env.get("VMCAST_FAKE_QEMU_BIN") or os.environ.get("VMCAST_FAKE_QEMU_BIN")
        if not binary:
            raise FakeQemuError("VMCAST_FAKE_QEMU_BIN is not set")
        args = [binary, "--name", name, "--consoles", str(consoles), "--qemu-version", version]
        if address:
            args += ["--address", address]
        pass_fds: tuple = ()
        if p2p_fd is not None:
            args += ["--p2p-fd", str(p2p_fd)]
            pass_fds = (p2p_fd,)
        args += list(extra_args)
        self.args = args
        self._cond = threading.Condition()
        self._events: list[dict] = []
        self._results: dict[int, dict] = {}
        self._other: list[str] = []  # stdout lines that were not JSON
        self.stderr_lines: list[str] = []
        self._ids = itertools.count(1)
        self._eof = False
        self._write_lock = threading.Lock()
        self.proc = subprocess.Popen(
            args,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            start_new_session=True,
            pass_fds=pass_fds,
            text=True,
            bufsize=1,
        )
        self._reader = threading.Thread(target=self._read_stdout, daemon=True)
        self._reader.start()
        self._err_reader = threading.Thread(target=self._read_stderr, daemon=True)
        self._err_reader.start()
        self.ready: Optional[dict] = None
        if wait_ready is None:
            wait_ready = p2p_fd is None
        if wait_ready:
            try:
                self.ready = self.wait_event("ready", timeout=ready_timeout)
            except Exception:
                self.stop()
                raise

    # ---- output readers -------------------------------------------------------------------

    def _read_stdout(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            line = line.strip()
            if not line:
                continue
            try:
                obj = json.loads(line)
            except ValueError:
                obj = None
            with self._cond:
                if not isinstance(obj, dict):
                    self._other.append(line)
                elif "cmd" in obj and isinstance(obj.get("id"), int):
                    self._results[obj["id"]] = obj
                else:
                    self._events.append(obj)
                self._cond.notify_all()
        with self._cond:
            self._eof = True
            self._cond.notify_all()

    def _read_stderr(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            with self._cond:
                self.stderr_lines.append(line.rstrip("\n"))

    # ---- commands -------------------------------------------------------------------------

    def command(self, line: str, timeout: float = 10.0, check: bool = False) -> dict:
        """Sends one command line and returns its result object.

        An id= is appended; the peer handles commands one at a time, in order. With check=True
        a result with "ok": false raises FakeQemuError."""
        cmd_id = next(self._ids)
        self._write(f"{line.strip()} id={cmd_id}\n")
        deadline = time.monotonic() + timeout
        with self._cond:
            while cmd_id not in self._results:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"fake-qemu: no result for {line!r} after {timeout}s"
                                       f"{self._stderr_tail()}")
                if self._eof:
                    raise FakeQemuError(f"fake-qemu exited before answering {line!r}"
                                        f"{self._stderr_tail()}")
                self._cond.wait(left)
            result = self._results.pop(cmd_id)
        if check and not result.get("ok"):
            raise FakeQemuError(f"fake-qemu: {line!r} failed: {result}", result)
        return result

    def send(self, verb: str, timeout: Optional[float] = None, check: bool = False,
             **kwargs: Any) -> dict:
        """command() with key=value arguments: send("scanout", width=64, height=64).

        timeout is how long to wait for the result (default 10 s); for the wait-* verbs it is
        also passed to the peer as its timeout= (seconds), and the wait is 5 s longer."""
        parts = [verb]
        if verb.startswith("wait-") and timeout is not None:
            kwargs["timeout"] = timeout
            wait = timeout + 5.0
        else:
            wait = 10.0 if timeout is None else timeout
            if verb.startswith("wait-"):
                wait = 15.0  # the peer's default timeout is 10 s
        for key, value in kwargs.items():
            if isinstance(value, bool):
                value = int(value)
            elif isinstance(value, (list, tuple)):
                value = ",".join(str(v) for v in value)
            parts.append(f"{_DASHED.get(key, key)}={value}")
        return self.command(" ".join(parts), timeout=wait, check=check)

    def wait_listener(self, console: int = 0, timeout: float = 10.0, count: int = 1,
                      check: bool = True) -> dict:
        """Waits until at least count listeners are registered on the console."""
        return self.send("wait-listener", timeout=timeout, check=check, console=console,
                         count=count)

    def wait_no_listener(self, console: int = 0, timeout: float = 10.0,
                         check: bool = True) -> dict:
        """Waits until the console has no listener left."""
        return self.send("wait-no-listener", timeout=timeout, check=check, console=console)

    def _write(self, text: str) -> None:
        if self.proc.stdin is None or self.proc.poll() is not None:
            raise FakeQemuError(f"fake-qemu is not running{self._stderr_tail()}")
        with self._write_lock:
            try:
                self.proc.stdin.write(text)
                self.proc.stdin.flush()
            except (BrokenPipeError, ValueError) as e:
                raise FakeQemuError(f"fake-qemu stdin closed: {e}{self._stderr_tail()}") from e

    # ---- events ---------------------------------------------------------------------------

    def mark(self) -> int:
        """The number of events so far: pass it as since= to wait only for newer events."""
        with self._cond:
            return len(self._events)

    def events(self, kind: Optional[str] = None, since: int = 0) -> list[dict]:
        with self._cond:
            return [e for e in self._events[since:] if kind is None or e.get("event") == kind]

    def wait_event(
        self,
        kind: str,
        timeout: float = 10.0,
        since: int = 0,
        predicate: Optional[Callable[[dict], bool]] = None,
    ) -> dict:
        """The first event of this kind (from index since) matching predicate; waits for it."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for e in self._events[since:]:
                    if e.get("event") == kind and (predicate is None or predicate(e)):
                        return e
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"fake-qemu: no {kind!r} event after {timeout}s"
                                       f"{self._stderr_tail()}")
                if self._eof:
                    raise FakeQemuError(f"fake-qemu exited while waiting for {kind!r}"
                                        f"{self._stderr_tail()}")
                self._cond.wait(left)

    @property
    def unique_name(self) -> Optional[str]:
        return self.ready.get("unique_name") if self.ready else None

    @property
    def stdout_garbage(self) -> list[str]:
        with self._cond:
            return list(self._other)

    def _stderr_tail(self, n: int = 20) -> str:
        with self._cond:
            tail = self.stderr_lines[-n:]
        return ("\nfake-qemu stderr:\n" + "\n".join(tail)) if tail else ""

    # ---- lifetime -------------------------------------------------------------------------

    def running(self) -> bool:
        return self.proc.poll() is None

    def stop(self, timeout: float = 5.0) -> Optional[int]:
        """Asks the peer to quit (closing stdin), then SIGTERM, then SIGKILL. Returns its exit
        status."""
        if self.proc.poll() is None:
            try:
                if self.proc.stdin is not None:
                    with self._write_lock:
                        self.proc.stdin.close()
            except OSError:
                pass
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                for sig in (signal.SIGTERM, signal.SIGKILL):
                    try:
                        os.killpg(self.proc.pid, sig)
                    except ProcessLookupError:
                        break
                    try:
                        self.proc.wait(timeout=timeout)
                        break
                    except subprocess.TimeoutExpired:
                        continue
        self._reader.join(timeout=timeout)
        self._err_reader.join(timeout=timeout)
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream is not None:
                stream.close()
        return self.proc.returncode

    def __enter__(self) -> "FakeQemu":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()


def read_frame(path: str) -> tuple[int, int, bytes]:
    """Reads a "VMCASTFRAME <w> <h> BGRA 0" file (as written by save=): (width, height, BGRA)."""
    with open(path, "rb") as f:
        header = f.readline().decode("ascii").split()
        if len(header) != 5 or header[0] != "VMCASTFRAME" or header[3] != "BGRA":
            raise ValueError(f"{path}: not a VMCASTFRAME BGRA file")
        width, height = int(header[1]), int(header[2])
        data = f.read()
    if len(data) != width * height * 4:
        raise ValueError(f"{path}: {len(data)} bytes of pixels, expected {width * height * 4}")
    return width, height, data
