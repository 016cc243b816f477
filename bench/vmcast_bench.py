"""vmcast's benchmark: the frame path against memcpy and against QEMU's own VNC server. Prints
Markdown tables and the targets met or missed, and writes CSV files, a PNG plot and
results.md into --out (bench/results by default). Run it through bench/run, which builds first.
"""
from __future__ import annotations

import argparse
import datetime
import os
import platform
import subprocess
import sys
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
TOP = BENCH_DIR.parent
sys.path[:0] = [str(TOP / "tests" / "integration"), str(BENCH_DIR)]

import camera  # noqa: E402  (needs the paths above)
import dbus_compare  # noqa: E402
import fleet  # noqa: E402
import frame_path  # noqa: E402
import novnc_compare  # noqa: E402
import pipewire_restart  # noqa: E402
import report  # noqa: E402
import vnc_compare  # noqa: E402
import web_audio  # noqa: E402
import web_latency  # noqa: E402
from rig import Tools  # noqa: E402
from vmcast_testlib.env import Session  # noqa: E402

README_START = "<!-- bench:start -->"
README_END = "<!-- bench:end -->"


def find_tools(build: Path) -> Tools:
    tools = Tools(vmcast=str(build / "src/app/vmcast"),
                  peer=str(build / "tests/fake-qemu/vmcast-fake-qemu"),
                  consumer=str(build / "tests/tools/vmcast-frame-consumer"),
                  memcpy=str(build / "bench/memcpy_baseline"),
                  dbus_receive=str(build / "bench/dbus_receive"),
                  guest_dir=build / "tests/guest")
    missing = [p for p in (tools.vmcast, tools.peer, tools.consumer, tools.memcpy,
                           tools.dbus_receive, tools.guest_dir / "initrd.img")
               if not Path(p).exists()]
    if missing:
        sys.exit(f"vmcast_bench: not built: {', '.join(map(str, missing))} (run bench/run)")
    # The test library finds the peer and consumer through these.
    os.environ["VMCAST_FAKE_QEMU_BIN"] = tools.peer
    os.environ["VMCAST_CONSUMER_BIN"] = tools.consumer
    return tools


def machine_line(tools: Tools) -> str:
    model = "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    version = subprocess.run([tools.vmcast, "--version"], capture_output=True,
                             text=True).stdout.strip()
    return (f"{datetime.date.today().isoformat()}, {model}, {os.cpu_count()} cores, "
            f"Linux {platform.release()}, {version}")


def find(rows: list[dict], **match) -> list[dict]:
    return [r for r in rows if all(r.get(k) == v for k, v in match.items())]


def targets(fp: list[dict], still: dict, vnc: list[dict]) -> list[tuple[str, str, bool]]:
    """(target, what was measured, met) for each figure the issue sets."""
    out = []
    for row in find(fp, width=1920, region="full", path="update", rate=frame_path.FIXED_FPS):
        cpu = row["cpu_us_per_frame"]
        out.append(("CPU per 1080p full-frame Update ≤ 1500 µs", f"{cpu:.0f} µs", cpu <= 1500))
    for row in find(fp, width=1920, region="full", path="update", rate="max"):
        fps = row["delivered_fps"]
        out.append(("flat out ≥ 120 fps of full 1080p frames over update", f"{fps:.0f} fps",
                    fps >= 120))
    small = find(fp, region="small", rate=frame_path.FIXED_FPS)
    worst = max(r["cpu_us_per_frame"] for r in small)
    out.append(("CPU per 64×64 update ≤ 100 µs at 60 fps, any size", f"worst {worst:.1f} µs",
                worst <= 100))
    wakeups = max(r["wakeups_per_s"] / max(r["delivered_fps"], 1) for r in small)
    out.append(("wakeups in vmcast per 64×64 update ≤ 3 at 60 fps", f"worst {wakeups:.1f}",
                wakeups <= 3))
    p99_small = max(r["latency_p99_us"] or 1e9 for r in small)
    out.append(("latency p99 ≤ 3 ms for 64×64 damage", f"worst {p99_small:.0f} µs",
                p99_small <= 3000))
    for row in find(fp, width=1920, region="full", rate=frame_path.FIXED_FPS):
        p99 = row["latency_p99_us"] or 1e9
        out.append((f"latency p99 ≤ 3 ms for a full 1080p frame ({row['path']})",
                    f"{p99:.0f} µs", p99 <= 3000))
    for path, goal in (("map", 240),):
        for row in find(fp, width=1920, region="full", path=path, rate="max"):
            fps = row["delivered_fps"]
            out.append((f"flat out ≥ {goal} fps of full 1080p frames over {path}",
                        f"{fps:.0f} fps", fps >= goal))
    out.append(("still screen: no buffers queued", str(still["buffers_queued"]),
                still["buffers_queued"] == 0))
    cpu = still["cpu_percent_per_console"]
    out.append(("still screen: ≤ 0.05 % of a core per console", f"{cpu:.3f} %", cpu <= 0.05))
    joiner = still["late_joiner_ms_max"]
    out.append(("late joiner on a still screen: first picture ≤ 100 ms (worst of 5)",
                f"{joiner:.1f} ms", joiner <= 100))
    if len(vnc) == 2:
        ours = next(r for r in vnc if "vmcast" in r["path"])
        theirs = next(r for r in vnc if "VNC" in r["path"])
        out.append(("less host CPU per delivered frame than QEMU's VNC path (display path)",
                    f"{ours['display_us_per_frame']:.0f} µs against "
                    f"{theirs['display_us_per_frame']:.0f} µs",
                    ours["display_us_per_frame"] < theirs["display_us_per_frame"]))
    return out


def web_targets(web: list[dict]) -> list[tuple[str, str, bool]]:
    """The page's targets: latency at 1080p, and the publisher's CPU (one viewer's cost)."""
    def value(start: str) -> float | None:
        return next((r["p50"] for r in web if r["measurement"].startswith(start)), None)
    out = []
    for name, start in (("capture to decoded", "capture to decoded"),
                        ("key to pixel", "key to pixel")):
        if (ms := value(start)) is not None:
            out.append((f"{name} p50 ≤ 35 ms at 1080p", f"{ms:.1f} ms", ms <= 35))
    alone, watched = value("vmcast CPU (mean), busy"), value("vmcast CPU (mean), same")
    if alone is not None and watched is not None:
        out.append(("publisher ≤ 25 % of a core at 1080p30 (one viewer's cost)",
                    f"{watched - alone:.1f} %", watched - alone <= 25))
    return out


def novnc_targets(rows: list[dict]) -> list[tuple[str, str, bool]]:
    """Better than noVNC in the same run: key to pixel, and host CPU on a busy screen."""
    ours = next((r for r in rows if "vmcast" in r["path"]), None)
    theirs = next((r for r in rows if "noVNC" in r["path"]), None)
    if not ours or not theirs:
        return []
    return [("key to pixel p50 below noVNC's",
             f"{ours['key_p50_ms']:.1f} against {theirs['key_p50_ms']:.1f} ms",
             ours["key_p50_ms"] < theirs["key_p50_ms"]),
            ("display-path CPU on a busy screen below noVNC's",
             f"{ours['busy_cpu_percent']:.1f} against {theirs['busy_cpu_percent']:.1f} %",
             ours["busy_cpu_percent"] < theirs["busy_cpu_percent"])]


def targets_table(goals: list[tuple[str, str, bool]]) -> str:
    rows = [{"t": t, "m": m, "ok": "met" if ok else "**missed**"} for t, m, ok in goals]
    return report.markdown_table(rows, [("target", lambda r: r["t"]),
                                        ("measured", lambda r: r["m"]),
                                        ("", lambda r: r["ok"])])


def results_markdown(machine: str, fp, still, heads, vnc, goals) -> str:
    parts = [
        f"Measured {machine}.",
        "",
        "Frame path (fake QEMU peer → vmcast → PipeWire consumer; `rate` 60 is a fixed rate, "
        "`max` flat out; vmcast runs with `--max-fps 1000` here so its pacing does not hide its "
        "cost):",
        "",
        report.markdown_table(fp, report.FRAME_PATH_COLUMNS),
        "",
        report.markdown_table([still], report.STATIC_COLUMNS),
        "",
        "Several consoles (1920×1080, default `--max-fps 60`):",
        "",
        report.markdown_table(heads, report.CONSOLE_COLUMNS),
        "",
        "The same guest (busybox writing random bytes to its 1024×768 framebuffer) through QEMU's "
        "VNC server and through vmcast:",
        "",
        report.markdown_table(vnc, report.VNC_COLUMNS),
        "",
        targets_table(goals),
    ]
    return "\n".join(parts) + "\n"


def web_markdown(machine: str, rows: list[dict]) -> str:
    return "\n".join([
        f"Measured {machine}: the fake QEMU peer → vmcast → its page in headless Chromium, over "
        "loopback (`bench/web_latency.py` says how each number is taken).",
        "",
        report.markdown_table(rows, report.WEB_COLUMNS),
        "",
        targets_table(web_targets(rows)),
    ]) + "\n"


def update_readme(path: Path, markdown: str, start_marker: str, end_marker: str) -> None:
    # Markers on lines of their own: prose may name them.
    text = path.read_text()
    start, end = text.find(f"\n{start_marker}\n"), text.find(f"\n{end_marker}\n")
    start, end = start + 1 if start >= 0 else -1, end + 1 if end >= 0 else -1
    if start < 0 or end < start:
        sys.exit(f"vmcast_bench: {path} has no {start_marker} … {end_marker} section")
    path.write_text(text[:start + len(start_marker)] + "\n" + markdown + text[end:])


def publish(args, name: str, markdown: str, rows: list[dict], marker: str) -> None:
    """Prints one section's tables, writes NAME.md and NAME.csv into --out, and with
    --update-readme puts the tables between bench/README.md's <!-- MARKER:start/end --> lines."""
    print("\n" + markdown)
    (args.out / f"{name}.md").write_text(markdown)
    report.write_csv(args.out / f"{name}.csv", rows)
    if args.update_readme:
        update_readme(TOP / "bench" / "README.md", markdown, f"<!-- {marker}:start -->",
                      f"<!-- {marker}:end -->")


def measure_restarts(args, machine: str, tools: Tools, log) -> None:
    with Session() as session:
        print("PipeWire restarts:", flush=True)
        rows = pipewire_restart.restart_rows(session, tools, log)
    publish(args, "restart", pipewire_restart.markdown(machine, rows), rows, "restart-bench")


def measure_audio(args, machine: str, tools: Tools, log) -> None:
    with Session() as session:
        print("the VM's sound in the page:", flush=True)
        rows = web_audio.audio_rows(session, tools, log)
    markdown = "\n".join([
        f"Measured {machine}: the fake QEMU peer's sound → vmcast → its page in headless "
        "Chromium, over loopback (`bench/web_audio.py` says how each number is taken).", "",
        report.markdown_table(rows, report.WEB_COLUMNS), ""])
    publish(args, "audio", markdown, rows, "audio-bench")


def measure_camera(args, machine: str, tools: Tools, log) -> None:
    with Session() as session:
        print("camera node:", flush=True)
        rows = camera.cpu_rows(session, tools, log) + camera.canvas_rows(session, tools, log)
    publish(args, "camera", camera.markdown(machine, rows), rows, "camera-bench")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--build", type=Path, default=TOP / "build")
    parser.add_argument("--out", type=Path, default=BENCH_DIR / "results")
    parser.add_argument("--duration", type=float, default=2.0,
                        help="seconds each frame-path stream runs")
    parser.add_argument("--update-readme", action="store_true",
                        help="replace the benchmark sections of bench/README.md with these results")
    parser.add_argument("--web-only", action="store_true",
                        help="measure only the web page (latency and publisher CPU)")
    parser.add_argument("--fleet-only", action="store_true",
                        help="measure only VMs starting and idling under `vmcast run`")
    parser.add_argument("--audio-only", action="store_true",
                        help="measure only the VM's sound in the page (latency, page CPU)")
    parser.add_argument("--camera-only", action="store_true",
                        help="measure only the camera node (vmcast CPU, latency to a browser)")
    parser.add_argument("--restart-only", action="store_true",
                        help="measure only how long vmcast's nodes are away after a PipeWire "
                             "restart")
    args = parser.parse_args()
    tools = find_tools(args.build.resolve())
    args.out.mkdir(parents=True, exist_ok=True)

    def log(row: dict) -> None:
        print("  " + ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                               for k, v in row.items()), flush=True)

    machine = machine_line(tools)
    if args.audio_only:
        measure_audio(args, machine, tools, log)
        return
    if args.restart_only:
        measure_restarts(args, machine, tools, log)
        return
    measure_camera(args, machine, tools, log)
    if args.camera_only:
        return
    with Session() as session:
        print("VMs starting and idling:", flush=True)
        first = fleet.first_frame_rows(session, tools, log)
        idle = fleet.idle_rows(session, tools, log)
    publish(args, "fleet", fleet.markdown(machine, first, idle), first + idle, "fleet-bench")
    if args.fleet_only:
        return

    with Session() as session:
        print("web page:", flush=True)
        web = web_latency.web_rows(session, tools, log)
    publish(args, "web", web_markdown(machine, web), web, "web-bench")
    measure_audio(args, machine, tools, log)

    with Session() as session:
        print("the page against noVNC, real guest:", flush=True)
        novnc = novnc_compare.comparison_rows(session, tools, lambda line: print(line, flush=True))
    publish(args, "novnc", novnc_compare.markdown(machine, novnc) + "\n" +
            targets_table(novnc_targets(novnc)) + "\n", novnc, "novnc-bench")
    if args.web_only:
        return

    print("GDBus against sd-bus:", flush=True)
    dbus = dbus_compare.rows(tools.dbus_receive, log)
    publish(args, "dbus", dbus_compare.markdown(machine, dbus), dbus, "dbus-bench")
    measure_restarts(args, machine, tools, log)

    with Session() as session:
        print("frame path:", flush=True)
        fp, cdfs = frame_path.frame_path_rows(session, tools, args.duration, log)
        print("still screen and late joiners:", flush=True)
        still = frame_path.static_and_joiner(session, tools, log)
        print("consoles:", flush=True)
        heads = frame_path.consoles_rows(session, tools, args.duration, log)
        print("QEMU VNC against vmcast, real guest:", flush=True)
        vnc = vnc_compare.run_comparison(session, tools.guest_dir, tools.vmcast)
        for row in vnc:
            log(row)

    goals = targets(fp, still, vnc)
    markdown = results_markdown(machine, fp, still, heads, vnc, goals)
    print("\n" + markdown)
    (args.out / "results.md").write_text(markdown)
    report.write_csv(args.out / "frame_path.csv", fp)
    report.write_csv(args.out / "consoles.csv", heads)
    report.write_csv(args.out / "still.csv", [still])
    report.write_csv(args.out / "vnc.csv", vnc)
    report.plot(args.out / "frame_path.png", fp, cdfs, f"vmcast frame path — {machine}")
    print(f"wrote {args.out}/results.md, *.csv and frame_path.png")
    if args.update_readme:
        update_readme(TOP / "bench" / "README.md", markdown, README_START, README_END)
        print("updated the benchmark sections of bench/README.md")


if __name__ == "__main__":
    main()
