"""Tables for people (Markdown, so the README can keep them as printed), CSV files for tools, and
the plot: latency CDFs and CPU per frame against damaged bytes, next to memcpy."""
from __future__ import annotations

import csv
from pathlib import Path
from typing import Callable, Sequence


def _number(value, digits: int) -> str:
    if value is None:
        return "–"
    return f"{value:.{digits}f}"


def num(key: str, digits: int = 0) -> Callable[[dict], str]:
    return lambda row: _number(row.get(key), digits)


def kib(key: str) -> Callable[[dict], str]:
    return lambda row: _number(row[key] / 1024, 1)


def markdown_table(rows: Sequence[dict], columns: Sequence[tuple[str, Callable[[dict], object]]]
                   ) -> str:
    head = "| " + " | ".join(title for title, _ in columns) + " |"
    rule = "|" + "|".join("---:" for _ in columns) + "|"
    body = ["| " + " | ".join(str(fmt(row)) for _, fmt in columns) + " |" for row in rows]
    return "\n".join([head, rule, *body])


FRAME_PATH_COLUMNS = [
    ("size", lambda r: f"{r['width']}×{r['height']}"),
    ("path", lambda r: r["path"]),
    ("damage", lambda r: r["region"]),
    ("rate", lambda r: r["rate"]),
    ("sent fps", num("sent_fps")),
    ("delivered fps", num("delivered_fps")),
    ("CPU µs/frame", num("cpu_us_per_frame", 1)),
    ("memcpy µs", num("memcpy_us", 1)),
    ("p50 µs", num("latency_p50_us")),
    ("p95 µs", num("latency_p95_us")),
    ("p99 µs", num("latency_p99_us")),
    ("damaged KiB/frame", kib("damaged_bytes_per_frame")),
    ("copied KiB/frame", kib("copied_bytes_per_frame")),
    ("RSS MiB", num("rss_mib", 1)),
]

CONSOLE_COLUMNS = [
    ("consoles", lambda r: r["consoles"]),
    ("still: CPU % per console", num("static_cpu_percent_per_console", 3)),
    ("still: wakeups/s", num("static_wakeups_per_s", 1)),
    ("still: buffers queued", lambda r: r["static_buffers_queued"]),
    ("30 fps 10 %: CPU %", num("busy_cpu_percent", 1)),
    ("µs per console frame", num("busy_cpu_us_per_console_frame", 1)),
    ("delivered fps per console", num("busy_delivered_fps_per_console", 1)),
    ("p99 µs", num("busy_latency_p99_us")),
    ("RSS MiB", num("rss_mib", 1)),
]

STATIC_COLUMNS = [
    ("still 1080p screen, seconds", num("seconds", 0)),
    ("CPU % of a core", num("cpu_percent_per_console", 3)),
    ("wakeups/s", num("wakeups_per_s", 1)),
    ("buffers queued", lambda r: r["buffers_queued"]),
    ("late joiner: first picture, median ms", num("late_joiner_ms_median", 1)),
    ("max ms", num("late_joiner_ms_max", 1)),
]

VNC_COLUMNS = [
    ("path", lambda r: r["path"]),
    ("delivered fps", num("fps", 1)),
    ("QEMU display threads ms", num("qemu_display_ms", 0)),
    ("vmcast ms", num("bridge_ms", 0)),
    ("PipeWire ms", num("pipewire_ms", 0)),
    ("client ms", num("client_ms", 0)),
    ("display path, % of a core", lambda r: _number(
        (r["qemu_display_ms"] + r["bridge_ms"] + r["pipewire_ms"] + r["client_ms"])
        / 10 / r["window_s"], 1)),
    ("display path µs/frame", num("display_us_per_frame", 0)),
    ("all host CPU µs/frame (incl. guest)", num("host_us_per_frame", 0)),
]


WEB_COLUMNS = [
    ("measurement", lambda r: r["measurement"]),
    ("p50", num("p50", 1)),
    ("p95", num("p95", 1)),
    ("unit", lambda r: r["unit"]),
    ("n", lambda r: r["n"]),
]


def write_csv(path: Path, rows: Sequence[dict]) -> None:
    if not rows:
        return
    keys: list[str] = []
    for row in rows:
        keys += [k for k in row if k not in keys]
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=keys)
        writer.writeheader()
        writer.writerows(rows)


def _finish_axes(axes, title: str, xlabel: str, ylabel: str) -> None:
    axes.set_xscale("log")
    axes.set_xlabel(xlabel)
    axes.set_ylabel(ylabel)
    axes.set_title(title)
    axes.grid(True, which="both", alpha=0.3)
    axes.legend(fontsize=8)


def plot(path: Path, frame_rows: Sequence[dict], latencies: dict[str, list[float]],
         title: str) -> None:
    import matplotlib  # only the plot needs it (python3-matplotlib)
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (cdf, cost) = plt.subplots(1, 2, figsize=(13, 5))
    for label, values in latencies.items():
        ordered = sorted(v / 1000 for v in values)
        if ordered:
            cdf.plot(ordered, [(i + 1) / len(ordered) for i in range(len(ordered))], label=label)
    _finish_axes(cdf, "Latency CDF, 1920×1080 at 60 fps", "peer send → consumer dequeue (ms)",
                 "fraction of frames")

    for path_name, marker in (("update", "o"), ("map", "s")):
        rows = [r for r in frame_rows if r["path"] == path_name and r["rate"] != "max"]
        cost.scatter([r["damaged_bytes_per_frame"] for r in rows],
                     [r["cpu_us_per_frame"] for r in rows], marker=marker,
                     label=f"vmcast CPU per frame ({path_name})")
    memcpy = sorted({(r["damaged_bytes_per_frame"], r["memcpy_us"]) for r in frame_rows
                     if r["rate"] != "max" and r["damaged_bytes_per_frame"] > 0})
    cost.plot([m[0] for m in memcpy], [m[1] for m in memcpy], "k--", label="memcpy of the damage")
    cost.set_yscale("log")
    _finish_axes(cost, "Cost against damaged area (60 fps runs)", "damaged bytes per frame",
                 "µs per frame")
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
