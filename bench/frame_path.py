"""The frame path measured with the fake QEMU peer: each scenario is one rig (peer, vmcast,
consumers); the peer's `stream` command drives it while vmcast's CPU, copy counters and the
consumers' stamped frames are recorded."""
from __future__ import annotations

import json
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from rig import StreamRig, Tools
from vmcast_testlib.consumer import FrameConsumer

SIZES = [(1280, 800), (1920, 1080), (3840, 2160)]
REGIONS = ["full", "tenth", "small", "scroll"]
PATHS = ["update", "map"]
FIXED_FPS = 60


def percentile(values: list[float], fraction: float) -> float | None:
    """Nearest-rank percentile; None without values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(fraction * len(ordered) + 0.5) - 1))
    return ordered[rank]


def region_rect(region: str, width: int, height: int) -> tuple[int, int, int, int]:
    """The damaged rectangle of one tick, as the fake peer computes it."""
    if region == "tenth":
        return width // 8, height // 8, round(width * 0.3162), round(height * 0.3162)
    if region == "small":
        return width // 2, height // 2, min(64, width - width // 2), min(64, height - height // 2)
    return 0, 0, width, height


def memcpy_us(tools: Tools, width: int, height: int, region: str) -> float:
    """The physical limit: one copy of the damaged bytes, row by row, warm caches."""
    x, y, w, h = region_rect(region, width, height)
    out = subprocess.run([tools.memcpy, str(width), str(height), str(x), str(y), str(w), str(h)],
                         capture_output=True, text=True, check=True, timeout=60)
    return json.loads(out.stdout)["us_per_copy"]


def stamped_latencies(consumer: FrameConsumer, stamps: dict[int, int],
                      since: int) -> tuple[list[float], int]:
    """Latency in µs of every picture from frame `since` on whose stamp the peer sent, and how
    many pictures came."""
    latencies, delivered = [], 0
    for frame in consumer.frames[since:]:
        if not frame.get("picture"):
            continue
        delivered += 1
        sent = stamps.get(frame.get("stamp"))
        if sent is not None and frame["t_ns"] >= sent:
            latencies.append((frame["t_ns"] - sent) / 1000)
    return latencies, delivered


def read_stamps(path: Path) -> dict[int, int]:
    stamps = {}
    for line in path.read_text().splitlines():
        seq, sent_ns = line.split()
        stamps[int(seq)] = int(sent_ns)
    return stamps


def stream(rig: StreamRig, *, rate: int, duration: float, console: str = "0") -> dict:
    """Runs one `stream` on the rig and measures it; returns a result row."""
    with tempfile.NamedTemporaryFile(prefix="stamps-", dir=rig.session.tmpdir) as stamps_file:
        marks = [len(c.frames) for c in rig.consumers]
        counters_before, cpu_before = rig.counters(), rig.cpu()
        result = rig.peer.command(
            f"stream console={console} path={rig.path} region={rig.region} rate={rate} "
            f"duration={duration} stamps={stamps_file.name}", timeout=duration + 30)
        rig.settle()
        cpu = rig.cpu() - cpu_before
        counters = rig.counters() - counters_before
        stamps = read_stamps(Path(stamps_file.name))
    if not result.get("ok") or result.get("errors"):
        raise RuntimeError(f"stream failed: {result}")
    latencies = []
    delivered = 0
    for consumer, mark in zip(rig.consumers, marks):
        got, count = stamped_latencies(consumer, stamps, mark)
        latencies += got
        delivered += count
    sent = result["sent"] * rig.consoles  # one Update per console per tick
    elapsed = result["elapsed_us"] / 1e6
    return {
        "width": rig.width, "height": rig.height, "path": rig.path, "region": rig.region,
        "consoles": rig.consoles, "rate": rate or "max", "sent": sent,
        "sent_fps": sent / rig.consoles / elapsed,
        "delivered_fps": delivered / rig.consoles / elapsed,
        "cpu_us_per_frame": cpu.cpu_ns / 1000 / max(sent, 1),
        "cpu_percent": 100 * cpu.cpu_ns / 1e9 / elapsed,
        "wakeups_per_s": cpu.wakeups / elapsed,
        "latency_p50_us": percentile(latencies, 0.50),
        "latency_p95_us": percentile(latencies, 0.95),
        "latency_p99_us": percentile(latencies, 0.99),
        "latency_samples": len(latencies),
        "damaged_bytes_per_frame": counters.damaged / max(sent, 1),
        "copied_bytes_per_frame": counters.copied / max(sent, 1),
        "converted_bytes_per_frame": counters.converted / max(sent, 1),
        "composited_bytes_per_frame": counters.composited / max(sent, 1),
        "exported_bytes_per_frame": counters.exported / max(sent, 1),
        "buffers_queued": counters.buffers,
        "rss_mib": cpu.rss_kib / 1024,  # a difference keeps the later sample's RSS
        "latencies_us": latencies,
    }


def frame_path_rows(session, tools: Tools, duration: float, log
                    ) -> tuple[list[dict], dict[str, list[float]]]:
    """Every size, path and region at a fixed rate and flat out; also the latencies of the
    1080p fixed-rate runs, for the plot."""
    rows, cdfs = [], {}
    memcpy_cache: dict[tuple, float] = {}
    for width, height in SIZES:
        for path in PATHS:
            for region in REGIONS:
                name = f"fp{width}{path}{region}"
                with StreamRig(session, tools, name=name, width=width, height=height, path=path,
                               region=region) as rig:
                    for rate in (FIXED_FPS, 0):
                        row = stream(rig, rate=rate, duration=duration)
                        key = (width, height, region)
                        if key not in memcpy_cache:
                            memcpy_cache[key] = memcpy_us(tools, width, height, region)
                        row["memcpy_us"] = memcpy_cache[key]
                        latencies = row.pop("latencies_us")
                        if (width, rate) == (1920, FIXED_FPS):
                            cdfs[f"{path}, {region}"] = latencies
                        rows.append(row)
                        log(row)
    return rows, cdfs


def static_screen(rig: StreamRig, seconds: float) -> dict:
    """A screen that does not change: what vmcast costs doing nothing."""
    rig.settle(1.0)
    counters_before, cpu_before = rig.counters(), rig.cpu()
    time.sleep(seconds)
    cpu = rig.cpu() - cpu_before
    counters = rig.counters() - counters_before
    return {
        "consoles": rig.consoles, "seconds": seconds,
        "cpu_percent_per_console": 100 * cpu.cpu_ns / 1e9 / seconds / rig.consoles,
        "wakeups_per_s": cpu.wakeups / seconds,
        # The SIGUSR1 asking for counters wakes vmcast twice: that is the measurement's own cost.
        "buffers_queued": counters.buffers,
        "rss_mib": cpu.rss_kib / 1024,
    }


def late_joiner_ms(rig: StreamRig, attempts: int = 5) -> list[float]:
    """From starting a new consumer on a still screen to its first picture: includes the
    consumer's own start and its PipeWire negotiation, so an upper bound for vmcast's part."""
    times = []
    for _ in range(attempts):
        started = time.monotonic_ns()
        consumer = rig.add_consumer(0)
        try:
            first = consumer.wait_pictures(1, timeout=10)[0]
            times.append((first["t_ns"] - started) / 1e6)
        finally:
            consumer.stop()
    return times


def consoles_rows(session, tools: Tools, duration: float, log) -> list[dict]:
    """How cost grows with the number of consoles: a still screen, then 10 % updates at 30 fps
    on every console at once, each with its own consumer, at vmcast's default --max-fps."""
    rows = []
    for consoles in (1, 2, 4, 8):
        with StreamRig(session, tools, name=f"heads{consoles}", width=1920, height=1080,
                       consoles=consoles, region="tenth", max_fps=60) as rig:
            still = static_screen(rig, seconds=3.0)
            busy = stream(rig, rate=30, duration=duration, console="all")
            busy.pop("latencies_us")
            row = {"consoles": consoles,
                   "static_cpu_percent_per_console": still["cpu_percent_per_console"],
                   "static_wakeups_per_s": still["wakeups_per_s"],
                   "static_buffers_queued": still["buffers_queued"],
                   "busy_cpu_percent": busy["cpu_percent"],
                   "busy_cpu_us_per_console_frame": busy["cpu_us_per_frame"],
                   "busy_delivered_fps_per_console": busy["delivered_fps"],
                   "busy_latency_p99_us": busy["latency_p99_us"],
                   "rss_mib": busy["rss_mib"]}
            rows.append(row)
            log(row)
    return rows


def static_and_joiner(session, tools: Tools, log) -> dict:
    with StreamRig(session, tools, name="still", width=1920, height=1080, max_fps=60) as rig:
        row = static_screen(rig, seconds=5.0)
        joins = late_joiner_ms(rig)
        row["late_joiner_ms_median"] = statistics.median(joins)
        row["late_joiner_ms_max"] = max(joins)
        log(row)
        return row
