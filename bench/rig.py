"""One measured set-up: the fake QEMU peer with N consoles, `vmcast run` streaming them, and one
real PipeWire consumer per console that reads each frame's stamp. Everything runs in the
benchmark's private Session (its own bus, PipeWire and WirePlumber)."""
from __future__ import annotations

import re
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import procstat
from vmcast_testlib import wait_for
from vmcast_testlib.consumer import FrameConsumer
from vmcast_testlib.fake_qemu import FakeQemu


@dataclass
class Tools:
    vmcast: str
    peer: str
    consumer: str
    memcpy: str
    dbus_receive: str
    guest_dir: Path


@dataclass
class CopyCounters:
    """vmcast's own counters (frame/copy_stats.h), as printed on SIGUSR1, in bytes."""
    copied: float = 0.0
    damaged: float = 0.0
    converted: float = 0.0
    composited: float = 0.0
    exported: float = 0.0
    buffers: int = 0

    def __sub__(self, other: "CopyCounters") -> "CopyCounters":
        return CopyCounters(*(getattr(self, f) - getattr(other, f) for f in
                              ("copied", "damaged", "converted", "composited", "exported",
                               "buffers")))


_MIB = 1024 * 1024
_COUNTERS = re.compile(
    r"frame path so far: ([\d.]+) MiB copied for ([\d.]+) MiB of damage \(converted ([\d.]+) "
    r"MiB, composited ([\d.]+) MiB, exported ([\d.]+) MiB\), (\d+) buffers queued")


def stop_process(proc: subprocess.Popen, timeout: float = 10) -> None:
    """SIGTERM (vmcast and the consumers then exit cleanly), SIGKILL if that is not enough."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


def region_stamp_position(region: str, width: int, height: int) -> tuple[int, int]:
    """Where the fake peer draws a tick's stamp: the region's top-left (tests/fake-qemu/README)."""
    if region == "tenth":
        return width // 8, height // 8
    if region == "small":
        return width // 2, height // 2
    return 0, 0


class StreamRig:
    def __init__(self, session, tools: Tools, *, name: str, width: int, height: int,
                 consoles: int = 1, path: str = "update", region: str = "full",
                 max_fps: int = 1000):
        self.session = session
        self.tools = tools
        self.name = name
        self.width, self.height = width, height
        self.consoles = consoles
        self.path = path
        self.region = region
        self.max_fps = max_fps
        self.peer: FakeQemu | None = None
        self.vmcast = None
        self.consumers: list[FrameConsumer] = []
        self._counter_lines = 0

    def __enter__(self) -> "StreamRig":
        try:
            self._start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _start(self) -> None:
        # QEMU 9.2 offers Listener.Unix.Map; 7.2 only pixels over the bus.
        version = "9.2" if self.path == "map" else "7.2"
        self.peer = FakeQemu(self.session.env, name=self.name, consoles=self.consoles,
                             version=version)
        self.vmcast = self.session.spawn(
            [self.tools.vmcast, "run", "--max-fps", str(self.max_fps), "--cursor", "hidden"],
            name=f"vmcast-{self.name}")
        scanout = "scanout-map" if self.path == "map" else "scanout"
        for console in range(self.consoles):
            self.peer.wait_listener(console=console, timeout=20)
            self.peer.command(f"{scanout} console={console} width={self.width} "
                              f"height={self.height} pattern=gradient", timeout=20, check=True)
        x, y = region_stamp_position(self.region, self.width, self.height)
        for console in range(self.consoles):
            self.consumers.append(self.add_consumer(console, x, y))
        for consumer in self.consumers:
            consumer.wait_pictures(1, timeout=30)
        # vmcast sends a joining consumer the whole picture again over its first second
        # (console_stream.h, kNewConsumerRepeatDelaysMs), and each of its 8 buffers then needs the
        # whole picture once. That is the late joiner's cost, measured on its own; the streams
        # here measure the steady state after it.
        time.sleep(1.2)
        self.peer.command(f"stream console=all path={self.path} region={self.region} rate=0 "
                          f"frames=16", timeout=60, check=True)
        self.settle()

    def add_consumer(self, console: int, x: int = 0, y: int = 0) -> FrameConsumer:
        return FrameConsumer(self.session, f"vmcast.{self.name}.{console}", None,
                             extra_args=["--stamp-at", f"{x},{y}", "--quiet-frames"])

    def close(self) -> None:
        for consumer in self.consumers:
            consumer.stop()
        self.consumers.clear()
        if self.vmcast is not None:
            stop_process(self.vmcast)
        if self.peer is not None:
            self.peer.stop()

    def cpu(self) -> procstat.ProcSample:
        return procstat.sample(self.vmcast.pid)

    def counters(self) -> CopyCounters:
        """Asks vmcast for its copy counters (SIGUSR1) and reads the line it logs."""
        log = self.session.log_path(self.vmcast.log_name, "stderr")
        self.vmcast.send_signal(signal.SIGUSR1)
        found: list[re.Match] = []

        def answered() -> bool:
            matches = list(_COUNTERS.finditer(log.read_text(errors="replace")))
            if len(matches) > self._counter_lines:
                found.append(matches[-1])
                return True
            return False

        wait_for(answered, timeout=10, what="vmcast to print its copy counters")
        self._counter_lines += 1
        m = found[0]
        values = [float(v) * _MIB for v in m.groups()[:5]]
        return CopyCounters(*values, int(m.group(6)))

    def settle(self, seconds: float = 0.3) -> None:
        """Lets trailing frames reach the consumers before the next sample."""
        time.sleep(seconds)
