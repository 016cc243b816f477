"""vmcast over a long run: one `vmcast run --wayland --web` following the session's VMs, three
fake-peer VMs (tests/fake-qemu; four consoles) streaming at 30 fps, and clients coming and going
on a fixed cycle. Every ~10 s it samples vmcast: RSS, anonymous memory, open fds, mappings (lines
of /proc/PID/maps, and those of shared memory among them), threads, CPU and the frames each
console's consumer received. Run it through bench/soak, which builds first.

Each cycle (5 minutes by default; a quarter of the run when that is shorter):
  0 %   sample: no client but the counting consumers (the phase the summary compares)
  5 %   each console's counting consumer is replaced: a new one joins, the old one leaves
  10 %  gst-launch pipewiresrc joins console b.1            45 %  and leaves
  15 %  Chromium opens console a.0's page, until it decodes  40 %  and closes
  50 %  wf-recorder records b.0                              65 %  and stops
  75 %  VM c (shared memory, QEMU 9.2) is killed           80 %  and started again
  12.5, 37.5, 62.5, 87.5 %  grim shoots every console

The warm-up (10 % of the run by default, rounded up to whole cycles) is left out. It fails when
vmcast dies; when an RSS sample at a cycle's start leaves ±5 % of the first one after the warm-up;
when the cycle starts of the second half after the warm-up hold more fds, threads or shared
mappings (memfds, DMA-BUFs, shm) at their fewest than those of the first half; when a
console's consumer got no frame in a cycle; or when a client or a VM's stream failed."""
from __future__ import annotations

import argparse
import math
import os
import signal
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
TOP = BENCH_DIR.parent
sys.path[:0] = [str(TOP / "tests" / "integration"), str(BENCH_DIR)]

import procstat  # noqa: E402  (needs the paths above)
import report  # noqa: E402
from rig import stop_process  # noqa: E402
from vmcast_bench import find_tools, machine_line, update_readme  # noqa: E402
from vmcast_testlib import MEASURABLE_HEAP_ENV, free_port, process_usage, read_png  # noqa: E402
from vmcast_testlib.browser import Browser  # noqa: E402
from vmcast_testlib.consumer import FrameConsumer  # noqa: E402
from vmcast_testlib.env import Session  # noqa: E402
from vmcast_testlib.fake_qemu import FakeQemu, FakeQemuError  # noqa: E402
from vmcast_testlib.gst_consumer import GstConsumer  # noqa: E402
from web_page import FULL_TOKEN, console_url  # noqa: E402

WIDTH, HEIGHT, FPS = 640, 480, 30
STREAM_CHUNK_S = 60        # the peer runs one command at a time: stream in chunks
RSS_BAND = 0.05
MAPS_BY_KIND = "maps by kind"  # in cycle starts' rows only; not a CSV column
WAYLAND = "vmcast-soak"


@dataclass(frozen=True)
class VmSpec:
    name: str
    consoles: int
    version: str  # "7.2": pixels in Update messages; "9.2": shared memory (ScanoutMap)


VMS = (VmSpec("a", 1, "7.2"), VmSpec("b", 2, "7.2"), VmSpec("c", 1, "9.2"))
RESTARTING = "c"


class StreamingVm:
    """A fake-peer VM showing each console and streaming all of them at FPS (scrolling text,
    full-frame damage) on a thread of its own; `errors` are the stream's failures."""

    def __init__(self, session: Session, spec: VmSpec):
        self.spec = spec
        self.errors: list[str] = []
        self._stopping = False
        self.peer = FakeQemu(session.env, name=spec.name, consoles=spec.consoles,
                             version=spec.version)
        scanout = "scanout-map" if spec.version == "9.2" else "scanout"
        for console in range(spec.consoles):
            self.peer.wait_listener(console=console, timeout=30)
            self.peer.command(f"{scanout} console={console} width={WIDTH} height={HEIGHT} "
                              "pattern=gradient", timeout=30, check=True)
        self._thread = threading.Thread(target=self._stream, name=f"stream-{spec.name}",
                                        daemon=True)
        self._thread.start()

    def _stream(self) -> None:
        while not self._stopping:
            try:
                result = self.peer.command(f"stream console=all region=scroll rate={FPS} "
                                           f"duration={STREAM_CHUNK_S}",
                                           timeout=STREAM_CHUNK_S + 30)
            except (FakeQemuError, TimeoutError) as error:
                if not self._stopping:
                    self.errors.append(f"VM {self.spec.name}: {error}")
                return
            if not result.get("ok") and not self._stopping:
                self.errors.append(f"VM {self.spec.name}'s stream: {result.get('first_error')}")

    def kill(self) -> None:
        """The VM ends as in a crash: SIGKILL, no goodbye on the bus."""
        self._stopping = True
        self.peer.proc.kill()
        self.peer.stop()
        self._thread.join(timeout=STREAM_CHUNK_S)


class ConsoleWatch:
    """The consumer that counts one console's delivered pictures; replaced now and then (one
    joins, one leaves), the count carried on."""

    def __init__(self, session: Session, node: str):
        self.session, self.node = session, node
        self.consumer: FrameConsumer | None = None
        self.retired = 0
        self.attach()

    def attach(self) -> None:
        old = self.consumer
        self.consumer = FrameConsumer(self.session, self.node, extra_args=["--quiet-frames"])
        if old is not None:
            self._retire(old)

    def detach(self) -> None:
        if self.consumer is not None:
            self._retire(self.consumer)
            self.consumer = None

    def _retire(self, consumer: FrameConsumer) -> None:
        consumer.stop()
        self.retired += len(consumer.pictures)

    @property
    def delivered(self) -> int:
        return self.retired + (len(self.consumer.pictures) if self.consumer else 0)


def cpu_ns(pid: int) -> int:
    """The whole process's CPU time, ended threads included (procstat sums the living ones; the
    viewers' GStreamer threads come and go)."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * 10**9 // os.sysconf("SC_CLK_TCK")


def mappings(pid: int) -> Counter:
    """vmcast's mappings (VMAs) counted by what backs them (a file, a memfd, [heap], anonymous)
    and whether they are shared (MAP_SHARED: "s" in the permissions), as "shared NAME"."""
    with open(f"/proc/{pid}/maps") as maps:
        fields = (line.split(maxsplit=5) for line in maps)
        return Counter(("shared " if f[1].endswith("s") else "") +
                       (f[5].strip() if len(f) == 6 else "anonymous") for f in fields)


@dataclass
class Soak:
    session: Session
    tools: object
    args: argparse.Namespace
    vmcast: object = None
    port: int = 0
    vms: dict[str, StreamingVm] = field(default_factory=dict)
    watches: dict[str, ConsoleWatch] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    rows: list[dict] = field(default_factory=list)
    clients: set[str] = field(default_factory=set)
    _browser: Browser | None = None
    _gst: GstConsumer | None = None
    _recorder: object = None
    _recording: Path | None = None
    _away: VmSpec | None = None
    _shots: int = 0  # recordings so far
    _t0: float = 0.0
    _last: tuple = ()

    # -- set-up -------------------------------------------------------------------------------
    def start(self) -> None:
        token_file = self.session.tmpdir / "tokens"
        token_file.write_text(f"{FULL_TOKEN}\n")
        self.port = free_port()
        self.vmcast = self.session.spawn(
            [self.tools.vmcast, "run", f"--wayland={WAYLAND}", "--web", f"127.0.0.1:{self.port}",
             "--web-token-file", str(token_file)], name="vmcast",
            env=self.args.vmcast_env)
        for spec in VMS:
            self.start_vm(spec)
        self._t0 = time.monotonic()
        self._last = (self._t0, cpu_ns(self.vmcast.pid), self.delivered())

    def start_vm(self, spec: VmSpec) -> None:
        self.vms[spec.name] = StreamingVm(self.session, spec)
        for console in range(spec.consoles):
            node = f"vmcast.{spec.name}.{console}"
            if node in self.watches:
                self.watches[node].attach()
            else:
                self.watches[node] = ConsoleWatch(self.session, node)

    def close(self) -> None:
        if self._browser is not None:
            self._browser.close()
        for watch in self.watches.values():
            watch.detach()
        for vm in self.vms.values():
            vm.kill()
        if self.vmcast is not None:
            stop_process(self.vmcast)

    # -- what happens in a cycle --------------------------------------------------------------
    def plan(self) -> list[tuple[float, str, object]]:
        steps = [(0.0, "sample", lambda: self.sample(phase=True)),
                 (0.05, "consumers replaced",
                  lambda: [w.attach() for w in self.watches.values()]),
                 (0.10, "gst joins", self.gst_join), (0.15, "viewer opens", self.viewer_open),
                 (0.40, "viewer closes", self.viewer_close), (0.45, "gst leaves", self.gst_leave),
                 (0.50, "wf-recorder starts", self.recorder_start),
                 (0.65, "wf-recorder stops", self.recorder_stop),
                 (0.75, "VM c killed", self.vm_kill), (0.80, "VM c started", self.vm_restart)]
        steps += [(fraction, "grim", self.grim) for fraction in (0.125, 0.375, 0.625, 0.875)]
        return sorted(steps, key=lambda step: step[0])

    def gst_join(self) -> None:
        self._gst = GstConsumer(self.session, "vmcast.b.1", self.session.tmpdir / "gst")
        self.clients.add("gst")

    def gst_leave(self) -> None:
        gst, self._gst = self._gst, None
        self.clients.discard("gst")
        if gst is None:  # its join failed, and said so
            return
        pictures = gst.pictures()
        stop_process(gst.proc)
        if pictures == 0:
            raise RuntimeError("gst-launch pipewiresrc got no picture")

    def viewer_open(self) -> None:
        self._browser = Browser(self.session.log_path("chromium", "stderr"))
        self.clients.add("viewer")
        self._browser.open("p", console_url(self.port, "a"))
        self._browser.wait_decoding("p", timeout=60)

    def viewer_close(self) -> None:
        browser, self._browser = self._browser, None
        self.clients.discard("viewer")
        if browser is None:
            return
        decoded = browser.state("p")["framesDecoded"]
        browser.close()
        if decoded == 0:
            raise RuntimeError("the page decoded no frame")

    def wayland_env(self) -> dict:
        return {"WAYLAND_DISPLAY": WAYLAND}

    def recorder_start(self) -> None:
        self._shots += 1  # wf-recorder asks before it overwrites a file
        self._recording = self.session.tmpdir / f"recording-{self._shots}.mp4"
        self._recorder = self.session.spawn(
            ["wf-recorder", "-o", "vmcast.b.0", "-f", str(self._recording)],
            name="wf-recorder", env=self.wayland_env())
        self.clients.add("wf-recorder")

    def recorder_stop(self) -> None:
        recorder, self._recorder = self._recorder, None
        self.clients.discard("wf-recorder")
        if recorder is None:
            return
        recorder.send_signal(signal.SIGINT)  # the stream's next frame lets it see the signal
        code = recorder.wait(timeout=60)
        size = self._recording.stat().st_size if self._recording.exists() else 0
        self._recording.unlink(missing_ok=True)
        if code != 0 or size == 0:
            raise RuntimeError(f"wf-recorder exited {code} with {size} bytes recorded")

    def vm_kill(self) -> None:
        vm = self.vms.pop(RESTARTING)
        for console in range(vm.spec.consoles):
            self.watches[f"vmcast.{vm.spec.name}.{console}"].detach()
        vm.kill()
        self.problems += vm.errors
        self._away = vm.spec
        self.clients.add("VM c away")

    def vm_restart(self) -> None:
        away, self._away = self._away, None
        self.clients.discard("VM c away")
        if away is not None:
            self.start_vm(away)

    def grim(self) -> None:
        path = self.session.tmpdir / "grim.png"
        proc = self.session.spawn(["grim", str(path)], name="grim", env=self.wayland_env())
        code = proc.wait(timeout=60)
        consoles = sum(spec.consoles for spec in VMS)
        image = read_png(path) if code == 0 else None
        if image is None or (image.width, image.height) != (WIDTH * consoles, HEIGHT):
            size = image and f"{image.width}×{image.height}"
            raise RuntimeError(f"grim exited {code}, picture {size}")

    # -- samples ------------------------------------------------------------------------------
    def delivered(self) -> dict[str, int]:
        return {node: watch.delivered for node, watch in self.watches.items()}

    def sample(self, phase: bool = False) -> dict:
        pid = self.vmcast.pid
        now, cpu, frames = time.monotonic(), cpu_ns(pid), self.delivered()
        anon, fds = process_usage(pid)
        maps = mappings(pid)
        then, cpu_before, frames_before = self._last
        seconds = max(now - then, 1e-6)
        row = {"minute": (now - self._t0) / 60, "phase": phase,
               "rss_mib": procstat.sample(pid).rss_kib / 1024,
               "anon_mib": anon / 1024, "fds": fds, "threads": threads(pid),
               "maps": sum(maps.values()),
               "shm maps": sum(n for kind, n in maps.items() if is_shared_memory(kind)),
               "cpu_percent": (cpu - cpu_before) / seconds / 1e7,
               **{f"fps {node[7:]}": (frames[node] - frames_before.get(node, 0)) / seconds
                  for node in frames},
               **{f"frames {node[7:]}": frames[node] for node in frames},
               "clients": " ".join(sorted(self.clients)),
               **({MAPS_BY_KIND: maps} if phase else {})}
        self._last = (now, cpu, frames)
        self.rows.append(row)
        print(report.markdown_table([row], COLUMNS).splitlines()[-1], flush=True)
        return row


COLUMNS = [("min", report.num("minute", 1)), ("cycle start", lambda r: "●" if r["phase"] else ""),
           ("RSS MiB", report.num("rss_mib", 1)), ("anon MiB", report.num("anon_mib", 1)),
           ("fds", report.num("fds")), ("threads", report.num("threads")),
           ("maps", report.num("maps")),
           ("shm maps", report.num("shm maps")),
           ("CPU %", report.num("cpu_percent", 1))] + [
    (f"fps {vm.name}.{c}", report.num(f"fps {vm.name}.{c}", 1))
    for vm in VMS for c in range(vm.consoles)] + [("clients", lambda r: r["clients"])]


def checks(rows: list[dict], warm_cycles: int, vmcast_code: int | None,
           problems: list[str]) -> list[tuple[str, bool]]:
    """(what was checked, passed) for each of the soak's targets."""
    phases = [row for row in rows if row["phase"]]
    out = [("vmcast running to the end" if vmcast_code is None
            else f"vmcast exited with status {vmcast_code}", vmcast_code is None)]
    after = phases[warm_cycles:]
    if len(after) >= 2:
        first = after[0]
        worst = max(after, key=lambda row: abs(row["rss_mib"] - first["rss_mib"]))
        change = worst["rss_mib"] / first["rss_mib"] - 1
        out.append((f"RSS at cycle starts within ±{RSS_BAND:.0%} of {first['rss_mib']:.1f} MiB "
                    f"(the first after the warm-up): farthest {worst['rss_mib']:.1f} MiB "
                    f"({change:+.1%})", abs(change) <= RSS_BAND))
        # The fewest of each half (the middle one of an odd count left out): a client still
        # closing at a cycle start holds a few for a moment, a leak raises even the fewest.
        # With two or three cycle starts that is one against one.
        half = len(after) // 2
        for key, what in (("fds", "open fds"), ("threads", "threads"),
                          ("shm maps", "shared-memory mappings")):
            early, late = (min(rows, key=lambda row: row[key])
                           for rows in (after[:half], after[len(after) - half:]))
            out.append((f"{what}, the fewest at a cycle start in the second half after the "
                        f"warm-up: {late[key]}, in the first half: {early[key]}"
                        f"{grown_kinds(early, late) if key == 'shm maps' else ''}",
                        0 < late[key] <= early[key]))  # none at all: nothing was measured
    else:
        out.append(("two cycle starts after the warm-up to compare", False))
    nodes = [key[len("frames "):] for key in rows[0] if key.startswith("frames ")] if rows else []
    stalled = [f"{node} in cycle {cycle + 1}" for cycle, (a, b) in enumerate(zip(phases, phases[1:]))
               for node in nodes if b[f"frames {node}"] <= a[f"frames {node}"]]
    out.append(("frames delivered to every console in every cycle" if not stalled
                else f"no frames: {', '.join(stalled)}", bool(nodes) and not stalled))
    out.append(("clients and streams without failure" if not problems
                else "failures: " + "; ".join(problems), not problems))
    return out


def threads(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("Threads:"))


def is_shared_memory(kind: str) -> bool:
    """A shared mapping (memfd, POSIX shm, DMA-BUF, a wl_shm pool, a GPU's buffer): what vmcast
    maps and must unmap for every stream, frame and client. The other VMAs are no measure of a
    leak: the kernel splits and merges them (THP, DAMON on these machines: +2 [heap] lines in a
    minute with nothing allocated), and a library loaded late adds some once."""
    return kind.startswith("shared ")


def grown_kinds(first: dict, last: dict) -> str:
    """Which kinds of shared-memory mapping there are more and fewer of, when there are more."""
    if last["shm maps"] <= first["shm maps"]:
        return ""
    more, fewer = (Counter({kind: n for kind, n in (a[MAPS_BY_KIND] - b[MAPS_BY_KIND]).items()
                            if is_shared_memory(kind)}) for a, b in ((last, first), (first, last)))
    return "".join(f"; {word}: " + ", ".join(f"{n} × {kind}" for kind, n in kinds.most_common())
                   for word, kinds in (("more", more), ("fewer", fewer)) if kinds)


def run(args, tools, log_problem) -> tuple[list[dict], int, int | None, list[str], str]:
    total_s = args.minutes * 60
    cycle_s = args.cycle * 60 if args.cycle else min(300.0, total_s / 4)
    cycles = max(1, round(total_s / cycle_s))
    warmup = args.minutes / 10 if args.warmup is None else args.warmup
    warm_cycles = math.ceil(warmup * 60 / cycle_s - 1e-9)
    if cycles <= warm_cycles:
        sys.exit(f"soak: {cycles} cycles of {cycle_s:.0f} s leave none after a warm-up of "
                 f"{warm_cycles}: run longer")
    print(f"soak: {cycles} cycles of {cycle_s:.0f} s, the first {warm_cycles} the warm-up; "
          f"a sample every {args.interval:.0f} s", flush=True)
    with Session(keep_tmpdir=args.keep_logs) as session:
        soak = Soak(session, tools, args)
        try:
            soak.start()
            print(report.markdown_table([], COLUMNS), flush=True)
            for cycle in range(cycles + 1):
                for fraction, what, action in soak.plan():
                    if cycle == cycles and fraction > 0:
                        break  # the last cycle start ends the run
                    alive = wait_until(soak, soak._t0 + (cycle + fraction) * cycle_s)
                    if not alive:
                        break
                    try:
                        action()
                    except Exception as error:  # noqa: BLE001  (any failure is the soak's)
                        minute = (time.monotonic() - soak._t0) / 60
                        soak.problems.append(f"{what} at {minute:.1f} min: {error}")
                        log_problem(soak.problems[-1])
                if soak.vmcast.poll() is not None:
                    break
            code = soak.vmcast.poll()
            for vm in soak.vms.values():
                soak.problems += vm.errors
        finally:
            soak.close()
        if args.keep_logs:
            print(f"soak: logs in {session.log_dir}")
    return soak.rows, warm_cycles, code, soak.problems, f"{cycle_s:.0f} s"


def wait_until(soak: Soak, deadline: float) -> bool:
    """Samples every --interval seconds (also when the schedule runs late) until deadline;
    False when vmcast has died."""
    while soak.vmcast.poll() is None:
        now, due = time.monotonic(), soak._last[0] + soak.args.interval
        if now >= due:
            soak.sample()
        elif now >= deadline:
            return True
        else:
            time.sleep(min(deadline, due) - now)
    return False


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("minutes", type=float, nargs="?", default=60.0)
    parser.add_argument("--warmup", type=float, help="minutes left out (default: a tenth)")
    parser.add_argument("--cycle", type=float,
                        help="minutes per cycle (default: 5, or a quarter of the run)")
    parser.add_argument("--interval", type=float, default=10.0, help="seconds between samples")
    parser.add_argument("--build", type=Path, default=TOP / "build")
    parser.add_argument("--out", type=Path, default=BENCH_DIR / "results")
    parser.add_argument("--keep-logs", action="store_true", help="keep the session's logs")
    parser.add_argument("--measurable-heap", action="store_true",
                        help="run vmcast with a fixed mmap threshold, so that its memory "
                             "follows what it keeps alive (to hunt a leak)")
    parser.add_argument("--update-readme", action="store_true",
                        help="put the cycle starts' table into bench/README.md")
    args = parser.parse_args()
    args.vmcast_env = MEASURABLE_HEAP_ENV if args.measurable_heap else None
    tools = find_tools(args.build.resolve())
    machine = machine_line(tools)
    rows, warm_cycles, code, problems, cycle = run(
        args, tools, lambda line: print(f"soak: {line}", flush=True))
    results = checks(rows, warm_cycles, code, problems)
    phases = [row for row in rows if row["phase"]]
    markdown = "\n".join([
        f"Measured {machine}: {args.minutes:g} minutes, cycles of {cycle}, the first "
        f"{warm_cycles} the warm-up (`bench/soak.py` says what a cycle does). vmcast at each "
        "cycle's start:", "",
        report.markdown_table(phases, COLUMNS[:-1]), "",
        report.markdown_table([{"c": c, "ok": "passed" if ok else "**failed**"}
                               for c, ok in results],
                              [("check", lambda r: r["c"]), ("", lambda r: r["ok"])]),
    ]) + "\n"
    print("\n" + markdown)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "soak.md").write_text(markdown)
    report.write_csv(args.out / "soak.csv",
                     [{k: v for k, v in row.items() if k != MAPS_BY_KIND} for row in rows])
    if args.update_readme:
        update_readme(BENCH_DIR / "README.md", markdown, "<!-- soak-bench:start -->",
                      "<!-- soak-bench:end -->")
    passed = all(ok for _, ok in results)
    print(f"soak: {'passed' if passed else 'FAILED'}")
    sys.exit(0 if passed else 1)


if __name__ == "__main__":
    main()
