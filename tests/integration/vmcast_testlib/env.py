"""A private desktop-like session for one test: XDG_RUNTIME_DIR, a D-Bus session bus, PipeWire and
WirePlumber, all real daemons, all killed again on exit (stdlib only).

Nothing here talks to the host's own session: the environment handed to children points every
socket (bus, PipeWire) into a fresh 0700 runtime directory under a temporary directory.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any, Sequence

from .util import tail, wait_for

# Variables that could make a child reach the host's desktop session instead of ours.
_SCRUB = ("DISPLAY", "WAYLAND_DISPLAY", "PIPEWIRE_REMOTE", "PIPEWIRE_CORE", "PULSE_SERVER",
          "DBUS_SESSION_BUS_ADDRESS", "DBUS_STARTER_ADDRESS", "DBUS_STARTER_BUS_TYPE",
          "XDG_RUNTIME_DIR", "PIPEWIRE_RUNTIME_DIR", "PIPEWIRE_DEBUG", "WIREPLUMBER_DEBUG",
          "GST_PLUGIN_FEATURE_RANK")


class Session:
    """Context manager. `Session(pipewire=False)` gives a bus but no PipeWire (to test vmcast's
    error path); `wireplumber=False` gives PipeWire without a session manager."""

    def __init__(self, *, dbus: bool = True, pipewire: bool = True, wireplumber: bool = True,
                 startup_timeout: float = 30.0, keep_tmpdir: bool = False):
        self.want_dbus = dbus
        self.want_pipewire = pipewire
        self.want_wireplumber = wireplumber and pipewire and dbus
        self.startup_timeout = startup_timeout
        self.keep_tmpdir = keep_tmpdir
        self.tmpdir = Path(tempfile.mkdtemp(prefix="vmcast-test-"))
        self.runtime_dir = self.tmpdir / "run"
        self.log_dir = self.tmpdir / "logs"
        self.bus_address: str | None = None
        self.procs: list[subprocess.Popen] = []
        self.daemons: dict[str, subprocess.Popen] = {}  # "pipewire", "wireplumber" while running
        self._log_names: dict[str, int] = {}
        self.env: dict[str, str] = {}

    # -- life cycle -------------------------------------------------------------------------------
    def __enter__(self) -> "Session":
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def start(self) -> None:
        self.runtime_dir.mkdir(mode=0o700)
        os.chmod(self.runtime_dir, 0o700)  # mkdir's mode is filtered by the umask
        self.log_dir.mkdir()
        env = {k: v for k, v in os.environ.items() if k not in _SCRUB}
        env.update({
            "XDG_RUNTIME_DIR": str(self.runtime_dir),
            "PIPEWIRE_RUNTIME_DIR": str(self.runtime_dir),
            # Private config/state dirs: WirePlumber stores default-node state there, and a
            # developer's ~/.config must not change what the tests see.
            "XDG_CONFIG_HOME": str(self.tmpdir / "config"),
            "XDG_STATE_HOME": str(self.tmpdir / "state"),
            "XDG_CACHE_HOME": str(self.tmpdir / "cache"),
            # No system bus for anything we start (logind/bluez monitors just give up).
            "DBUS_SYSTEM_BUS_ADDRESS": f"unix:path={self.runtime_dir}/no-system-bus",
        })
        self.env = env
        if self.want_dbus:
            self._start_dbus()
        if self.want_pipewire:
            self._start_pipewire()
        if self.want_wireplumber:
            self._start_wireplumber()

    def close(self) -> None:
        """Stop everything started here, newest first: SIGTERM to each process group, then SIGKILL
        for anything still alive after a grace period. Safe to call twice."""
        for proc in reversed(self.procs):
            self._signal_group(proc, signal.SIGTERM)
        deadline = time.monotonic() + 5
        for proc in reversed(self.procs):
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
            # Kill the whole group even if the leader has exited: children may remain.
            self._signal_group(proc, signal.SIGKILL)
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
            for stream in (proc.stdout, proc.stderr, proc.stdin):
                if stream:
                    stream.close()
        self.procs.clear()
        if not self.keep_tmpdir:
            shutil.rmtree(self.tmpdir, ignore_errors=True)

    @staticmethod
    def _signal_group(proc: subprocess.Popen, sig: int) -> None:
        try:
            os.killpg(proc.pid, sig)  # spawn() made each child the leader of its own group
        except (ProcessLookupError, PermissionError):
            pass

    # -- processes --------------------------------------------------------------------------------
    def log_path(self, name: str, stream: str) -> Path:
        return self.log_dir / f"{name}.{stream}.log"

    def spawn(self, argv: Sequence[str], *, name: str | None = None,
              env: dict[str, str] | None = None, **kw: Any) -> subprocess.Popen:
        """Start argv with the session env (plus `env` overrides) in its own process group.
        stdout/stderr go to LOGDIR/<name>.{stdout,stderr}.log unless given in kw (e.g. PIPE).
        The process is killed by close()."""
        base = name or Path(argv[0]).name
        n = self._log_names.get(base, 0)
        self._log_names[base] = n + 1
        name = base if n == 0 else f"{base}-{n}"
        files = []
        for stream in ("stdout", "stderr"):
            if stream not in kw:
                f = open(self.log_path(name, stream), "wb")
                files.append(f)
                kw[stream] = f
        kw.setdefault("stdin", subprocess.DEVNULL)
        full_env = dict(self.env)
        if env:
            full_env.update(env)
        try:
            proc = subprocess.Popen(list(argv), env=full_env, start_new_session=True, **kw)
        finally:
            for f in files:  # the child has its own copies of these descriptors
                f.close()
        proc.log_name = name  # type: ignore[attr-defined]
        self.procs.append(proc)
        return proc

    def run(self, argv: Sequence[str], timeout: float = 30, check: bool = False,
            **kw: Any) -> subprocess.CompletedProcess:
        """Run a short-lived helper (pw-cli, gdbus, vmcast list...) with the session env."""
        return subprocess.run(list(argv), env=self.env, capture_output=True, text=True,
                              timeout=timeout, check=check, **kw)

    def describe_logs(self, max_bytes: int = 2000) -> str:
        """Tails of every log file, for assertion messages."""
        parts = []
        for path in sorted(self.log_dir.glob("*.log")):
            if path.stat().st_size:
                parts.append(f"--- {path.name} ---\n{tail(path, max_bytes)}")
        return "\n".join(parts)

    def _check_alive(self, proc: subprocess.Popen, what: str) -> None:
        if proc.poll() is not None:
            raise AssertionError(
                f"{what} exited with status {proc.returncode} during startup\n"
                f"{tail(self.log_path(proc.log_name, 'stderr'))}")  # type: ignore[attr-defined]

    # -- daemons ----------------------------------------------------------------------------------
    def _start_dbus(self) -> None:
        sock = self.runtime_dir / "bus"
        self.bus_address = f"unix:path={sock}"
        proc = self.spawn(["dbus-daemon", "--session", "--nofork", "--nosyslog",
                           f"--address={self.bus_address}"], name="dbus-daemon")
        self.env["DBUS_SESSION_BUS_ADDRESS"] = self.bus_address

        def ready() -> bool:
            self._check_alive(proc, "dbus-daemon")
            return sock.exists() and self.run(
                ["gdbus", "call", "--address", self.bus_address, "--dest",
                 "org.freedesktop.DBus", "--object-path", "/org/freedesktop/DBus",
                 "--method", "org.freedesktop.DBus.GetId"], timeout=5).returncode == 0
        wait_for(ready, self.startup_timeout, what="the private dbus-daemon to answer")

    def _start_pipewire(self, wait: bool = True) -> None:
        # VMCAST_TEST_PIPEWIRE_DEBUG sets the daemon's PIPEWIRE_DEBUG (e.g. 4, for tracing a
        # negotiation in pipewire.stderr.log).
        debug = os.environ.get("VMCAST_TEST_PIPEWIRE_DEBUG")
        proc = self.spawn(["pipewire"], name="pipewire",
                          env={"PIPEWIRE_DEBUG": debug} if debug else None)
        self.daemons["pipewire"] = proc
        if not wait:
            return
        sock = self.runtime_dir / "pipewire-0"

        def ready() -> bool:
            self._check_alive(proc, "pipewire")
            return sock.exists() and self.run(["pw-cli", "info", "0"], timeout=5).returncode == 0
        wait_for(ready, self.startup_timeout, what="pipewire to answer `pw-cli info 0`")

    def _start_wireplumber(self, wait: bool = True) -> None:
        proc = self.spawn(["wireplumber"], name="wireplumber")
        self.daemons["wireplumber"] = proc
        if not wait:
            return

        # WirePlumber is ready for us once it has created the "default" metadata object: its
        # policy scripts run from then on and will link consumers to our nodes. (pw-dump 0.3.65
        # does not list metadata objects exported by other clients, so ask pw-cli.)
        def ready() -> bool:
            self._check_alive(proc, "wireplumber")
            res = self.run(["pw-cli", "ls", "Metadata"], timeout=5)
            return 'metadata.name = "default"' in res.stdout
        wait_for(ready, self.startup_timeout, what="wireplumber to publish its default metadata")

    def kill_daemon(self, name: str) -> None:
        """SIGKILL the session's "pipewire" or "wireplumber", as a crash would, and wait until it
        is gone; start_daemon(name) starts it again."""
        proc = self.daemons.pop(name)
        self._signal_group(proc, signal.SIGKILL)
        proc.wait(timeout=10)
        self.procs.remove(proc)

    def start_daemon(self, name: str, wait: bool = True) -> None:
        """Starts "pipewire" or "wireplumber" again; with wait, until it is ready, as at startup."""
        assert name not in self.daemons, f"{name} is running"
        {"pipewire": self._start_pipewire, "wireplumber": self._start_wireplumber}[name](wait)

    # -- PipeWire inspection ----------------------------------------------------------------------
    def pw_dump(self) -> list[dict]:
        """The PipeWire graph as `pw-dump` prints it (list of objects)."""
        res = self.run(["pw-dump"], timeout=15)
        if res.returncode != 0:
            raise RuntimeError(f"pw-dump failed ({res.returncode}): {res.stderr.strip()}")
        return json.loads(res.stdout or "[]")

    def nodes(self) -> list[dict]:
        return [o for o in self.pw_dump() if o.get("type") == "PipeWire:Interface:Node"]

    def find_node(self, name: str) -> dict | None:
        """The pw-dump object of the node whose node.name is `name`, or None."""
        for node in self.nodes():
            props = (node.get("info") or {}).get("props") or {}
            if props.get("node.name") == name:
                return node
        return None

    # -- D-Bus inspection -------------------------------------------------------------------------
    def bus_call(self, method: str, *args: str, timeout: float = 10) -> subprocess.CompletedProcess:
        """Call a method of org.freedesktop.DBus on the private bus with gdbus."""
        assert self.bus_address, "this session has no bus"
        return self.run(["gdbus", "call", "--address", self.bus_address, "--dest",
                         "org.freedesktop.DBus", "--object-path", "/org/freedesktop/DBus",
                         "--method", f"org.freedesktop.DBus.{method}", *args], timeout=timeout)

    def queued_owners(self, name: str) -> list[str]:
        """Unique names owning or queued for `name` (e.g. each QEMU queues for org.qemu)."""
        res = self.bus_call("ListQueuedOwners", name)
        if res.returncode != 0:  # NameHasNoOwner
            return []
        # gdbus prints GVariant text such as "([':1.3', ':1.7'],)"
        return re.findall(r"'([^']*)'", res.stdout)
