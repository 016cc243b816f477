"""Side by side on the same real guest workload (the test guest's "noise" mode, which rewrites its
1024x768x24 framebuffer with random bytes forever): QEMU's built-in VNC server feeding a VNC
client, against QEMU's D-Bus display feeding vmcast feeding a GStreamer consumer. For each, the
host CPU spent per frame the consumer received, with QEMU's vCPU thread (the guest's own work)
apart from the rest of QEMU (its display path).

Each path gets a fresh QEMU, and everything of one path is stopped before the next starts, so
the two never share the CPU (the guest's vCPU alone keeps one core busy)."""
from __future__ import annotations

import argparse
import collections
import itertools
import json
import re
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

if __name__ == "__main__":  # run by hand: find the test library as bench/vmcast_bench.py does
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "integration"))

import procstat  # noqa: E402  (bench/ is the script's directory, on the path either way)
from rig import stop_process  # noqa: E402
from vmcast_testlib import Qemu, Session, guest_append, wait_for  # noqa: E402

VNC_PATH = "QEMU VNC server → RFB client (raw)"
VMCAST_PATH = "QEMU D-Bus → vmcast → GStreamer"
RFB_CLIENT = Path(__file__).resolve().parent / "rfb_client.py"
READY_LINE = "VMCAST-GUEST: ready mode=noise"
VCPU_THREADS = ("CPU ",)  # TCG names its vCPU threads "CPU 0/TCG"
BOOT_TIMEOUT = 60
FIRST_FRAME_TIMEOUT = 30
PROGRESS_INTERVAL = 0.1  # how often the RFB client reports its running count
# One line per buffer from `gst-launch-1.0 -v ... fakesink silent=false`, such as
# "/GstPipeline:pipeline0/GstFakeSink:fakesink0: last-message = chain   ******* (fakesink0:sink)
# (3145728 bytes, dts: none, pts: ...". Rendered buffers only: fakesink writes no line for a
# buffer it drops.
GST_BUFFER_LINE = re.compile(r"GstFakeSink:\w+: last-message = chain ")

Point = tuple[float, int]  # (CLOCK_MONOTONIC seconds, frames received so far)


class FrameCounts:
    """A consumer's running frame count, as points parsed from its stdout by a thread, so the
    count can be read at the moments the CPU samples are taken (interpolated between points)."""

    def __init__(self, stream: Iterable[bytes], parse: Callable[[str], Point | None]):
        self._points: list[Point] = []
        self._cond = threading.Condition()
        self._ended = False
        self.other_lines: collections.deque[str] = collections.deque(maxlen=20)  # for errors
        threading.Thread(target=self._read, args=(stream, parse), daemon=True).start()

    def _read(self, stream: Iterable[bytes], parse: Callable[[str], Point | None]) -> None:
        for raw in stream:
            line = raw.decode(errors="replace").rstrip("\n")
            point = parse(line)
            with self._cond:
                if point is None:
                    self.other_lines.append(line)
                else:
                    self._points.append(point)
                self._cond.notify_all()
        with self._cond:
            self._ended = True
            self._cond.notify_all()

    def wait_first(self, timeout: float) -> bool:
        with self._cond:
            return self._cond.wait_for(
                lambda: self._ended or (self._points and self._points[-1][1] > 0),
                timeout) and not self._ended

    def at(self, moment: float, patience: float = 1.0) -> float:
        """The count at `moment`, interpolated between the points around it. Reports lag a
        little, so this waits up to `patience` for one after it; with none, the count has not
        moved since the last one."""
        with self._cond:
            self._cond.wait_for(
                lambda: self._ended or (self._points and self._points[-1][0] > moment), patience)
            before = [p for p in self._points if p[0] <= moment]
            after = [p for p in self._points if p[0] > moment]
        if not before:
            return 0.0
        t0, n0 = before[-1]
        if not after:
            return float(n0)
        t1, n1 = after[0]
        return n0 + (n1 - n0) * (moment - t0) / (t1 - t0)


def parse_rfb_progress(line: str) -> Point | None:
    """The RFB client's --progress lines carry their own CLOCK_MONOTONIC time."""
    try:
        report = json.loads(line)
    except ValueError:
        return None
    return (report["t"], report["updates"]) if "t" in report else None


def gst_buffer_parser() -> Callable[[str], Point | None]:
    """gst-launch prints no time, so a buffer counts from when its line is read (line buffered,
    see start_gst_consumer), moments after fakesink got it."""
    seen = itertools.count(1)
    return lambda line: (time.monotonic(), next(seen)) if GST_BUFFER_LINE.search(line) else None


def start_guest(session, guest_dir: Path, name: str, display: str,
                extra_args: list[str]) -> Qemu:
    qemu = Qemu(session, name, kernel=str(guest_dir / "vmlinuz"),
                initrd=str(guest_dir / "initrd.img"), append=guest_append("noise"),
                display=display, vga="std", memory=256,
                # QEMU names its threads ("CPU 0/TCG", "vnc_worker"...) only when asked to;
                # a second -name is merged into the first.
                extra_args=["-name", f"{name},debug-threads=on", *extra_args])
    qemu.start()
    qemu.wait_serial(READY_LINE, BOOT_TIMEOUT)
    return qemu


def start_rfb_client(session, socket_path: Path) -> tuple[subprocess.Popen, FrameCounts]:
    client = session.spawn([sys.executable, str(RFB_CLIENT), "--unix", str(socket_path),
                            "--progress", str(PROGRESS_INTERVAL)],
                           name="rfb-client", stdout=subprocess.PIPE)
    return client, FrameCounts(client.stdout, parse_rfb_progress)


def start_gst_consumer(session, node: str) -> tuple[subprocess.Popen, FrameCounts]:
    # fakesink's per-buffer last-message, printed by -v, is the cheapest exact count gst-launch
    # offers: fpsdisplaysink (gst-plugins-bad) is not installed here, and the count must cover
    # every buffer between two moments, not a rate. stdbuf makes stdout line buffered, else
    # lines would reach us in 4 KiB bursts. sync=false: take buffers as they come, as a VNC
    # client does, instead of waiting on their timestamps.
    argv = ["stdbuf", "-oL", "gst-launch-1.0", "-v", "pipewiresrc", f"target-object={node}",
            "!", "video/x-raw", "!", "fakesink", "silent=false", "sync=false"]
    consumer = session.spawn(argv, name="gst-launch", stdout=subprocess.PIPE)
    return consumer, FrameCounts(consumer.stdout, gst_buffer_parser())


@dataclass
class Pids:
    """The processes of one path. The PipeWire daemon is sampled for both paths: it carries
    vmcast's buffers to the consumer, and for VNC it shows that it sat idle."""
    qemu: int
    client: int
    pipewire: int
    bridge: int | None = None  # vmcast


def cpu_ms(pids: Pids) -> dict[str, float]:
    samples = {
        "qemu_display_ms": procstat.sample(pids.qemu, skip_threads=VCPU_THREADS),
        "qemu_vcpu_ms": procstat.sample(pids.qemu, only_threads=VCPU_THREADS),
        "bridge_ms": procstat.sample(pids.bridge) if pids.bridge else procstat.ProcSample(),
        "pipewire_ms": procstat.sample(pids.pipewire),
        "client_ms": procstat.sample(pids.client),
    }
    return {key: sample.cpu_ns / 1e6 for key, sample in samples.items()}


def measure(path: str, counts: FrameCounts, pids: Pids, warmup: float, seconds: float) -> dict:
    """Waits `warmup`, then measures CPU and delivered frames over `seconds`: one row."""
    time.sleep(warmup)
    t0, before = time.monotonic(), cpu_ms(pids)
    time.sleep(seconds)
    t1, after = time.monotonic(), cpu_ms(pids)
    frames = round(counts.at(t1) - counts.at(t0))
    used = {key: round(after[key] - before[key], 1) for key in before}
    # The display path is everything but the guest's own work (the vCPU thread).
    display_ms = sum(ms for key, ms in used.items() if key != "qemu_vcpu_ms")

    def us_per_frame(ms: float) -> int | None:
        return round(ms * 1000 / frames) if frames else None  # check_row rejects frames == 0
    return {"path": path, "frames": frames, "fps": round(frames / (t1 - t0), 2), **used,
            "display_us_per_frame": us_per_frame(display_ms),
            "host_us_per_frame": us_per_frame(display_ms + used["qemu_vcpu_ms"]),
            "window_s": round(t1 - t0, 3)}


def pipewire_pid(session) -> int:
    return next(proc.pid for proc in session.procs if proc.log_name == "pipewire")


def failure(session, what: str, counts: FrameCounts | None = None) -> RuntimeError:
    output = "\n".join(counts.other_lines) if counts else ""
    return RuntimeError(f"{what}\nconsumer stdout tail:\n{output}\n{session.describe_logs()}")


def check_row(session, row: dict, counts: FrameCounts) -> dict:
    if row["frames"] <= 0:
        raise failure(session, f"{row['path']}: no frames in the {row['window_s']} s window",
                      counts)
    if row["qemu_vcpu_ms"] <= 0:
        raise failure(session, f"{row['path']}: QEMU has no thread named {VCPU_THREADS[0]!r}*")
    return row


def run_vnc(session, guest_dir: Path, seconds: float, warmup: float) -> dict:
    socket_path = Path(session.tmpdir) / "vnc.sock"
    qemu = start_guest(session, guest_dir, "vnc", "none", ["-vnc", f"unix:{socket_path}"])
    client = None
    try:
        client, counts = start_rfb_client(session, socket_path)
        if not counts.wait_first(FIRST_FRAME_TIMEOUT):
            raise failure(session, "the RFB client got no update from QEMU's VNC server", counts)
        pids = Pids(qemu.proc.pid, client.pid, pipewire_pid(session))
        row = measure(VNC_PATH, counts, pids, warmup, seconds)
        return check_row(session, row, counts)
    finally:
        if client is not None:
            stop_process(client)
        qemu.quit()


def run_vmcast(session, guest_dir: Path, vmcast_bin: str, seconds: float,
               warmup: float) -> dict:
    qemu = start_guest(session, guest_dir, "dbus", "dbus", [])
    node = f"vmcast.{qemu.name}.0"
    started: list[subprocess.Popen] = []
    try:
        vmcast = session.spawn([vmcast_bin, "run"], name="vmcast")
        started.append(vmcast)
        wait_for(lambda: session.find_node(node), FIRST_FRAME_TIMEOUT, 0.3,
                 what=f"PipeWire node {node}")
        consumer, counts = start_gst_consumer(session, node)
        started.append(consumer)
        if not counts.wait_first(FIRST_FRAME_TIMEOUT):
            raise failure(session, f"gst-launch got no buffer from {node}", counts)
        pids = Pids(qemu.proc.pid, consumer.pid, pipewire_pid(session), vmcast.pid)
        row = measure(VMCAST_PATH, counts, pids, warmup, seconds)
        return check_row(session, row, counts)
    except AssertionError as exc:  # wait_for's timeout
        raise failure(session, str(exc)) from None
    finally:
        for proc in reversed(started):
            stop_process(proc)
        qemu.quit()


def run_comparison(session, guest_dir: Path, vmcast_bin: str, seconds: float = 10.0,
                   warmup: float = 3.0) -> list[dict]:
    """Both paths, one after the other, in `session` (a vmcast_testlib Session with PipeWire and
    WirePlumber); guest_dir holds the test guest's vmlinuz and initrd.img."""
    return [run_vnc(session, guest_dir, seconds, warmup),
            run_vmcast(session, guest_dir, vmcast_bin, seconds, warmup)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--build", type=Path, default=Path("build-main"),
                        help="build directory with src/app/vmcast and tests/guest")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=3.0)
    args = parser.parse_args()
    with Session() as session:
        rows = run_comparison(session, args.build / "tests" / "guest",
                              str(args.build / "src" / "app" / "vmcast"), args.seconds,
                              args.warmup)
    for row in rows:
        print(json.dumps(row, ensure_ascii=False))


if __name__ == "__main__":
    main()
