"""The hostile QEMU peer for a long run: the fake peer's `hostile` mode (random well-typed
listener calls, valid and malformed; tests/fake-qemu/README.md) against `vmcast run` for MINUTES,
with a PipeWire consumer on the stream, then one valid frame that must reach it exactly. Prints
the seed, the calls sent and refused per method, vmcast's heap and fds at the start and end, and
whether the final frame was exact; exits 1 on any failure. Run it through bench/hostile."""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
TOP = BENCH_DIR.parent
sys.path[:0] = [str(TOP / "tests" / "integration"), str(BENCH_DIR)]

import report  # noqa: E402  (needs the paths above)
from conftest import Artifacts  # noqa: E402
from hostile_run import METHODS, check_hostile_round, hostile_round  # noqa: E402
from peer_streaming import streamed_peer  # noqa: E402
from vmcast_testlib import MEASURABLE_HEAP_ENV, process_usage  # noqa: E402
from vmcast_testlib.env import Session  # noqa: E402

SAMPLE_SECONDS = 10


def sample_peak(pid: int, stop: threading.Event, peak: list[int]) -> None:
    """Keeps peak[0] at vmcast's largest heap (anonymous resident KiB) seen so far."""
    while not stop.wait(SAMPLE_SECONDS):
        try:
            peak[0] = max(peak[0], process_usage(pid)[0])
        except (OSError, StopIteration):  # gone, or a zombie without RssAnon
            return


def run(minutes: float, seed: int | None, workdir: Path) -> tuple[dict, list[str], bool]:
    """(peer result and vmcast usage, failures, final frame exact)."""
    failures: list[str] = []
    exact = False
    with Session(keep_tmpdir=True) as session, streamed_peer(session, Artifacts(workdir, "hostile"), workdir,
                                             name="hostile", version="10.1",
                                             vmcast_env=MEASURABLE_HEAP_ENV) as streamed:
        first, picture = streamed.send("scanout width=320 height=240 pattern=gradient")
        assert first["ok"], first
        streamed.wait_picture(picture, what="first picture")
        pid = streamed.vmcast.pid
        heap_start, fds_start = process_usage(pid)
        peak, stop = [heap_start], threading.Event()
        sampler = threading.Thread(target=sample_peak, args=(pid, stop, peak), daemon=True)
        sampler.start()
        try:
            result = hostile_round(streamed, minutes * 60, seed)
        finally:
            stop.set()
            sampler.join()
        try:
            check_hostile_round(streamed, result)
            exact = True
        except AssertionError as exc:
            failures.append(str(exc).splitlines()[0])
        if result.get("late_for_qemu"):
            failures.append(f"{result['late_for_qemu']} ScanoutMap/UpdateDMABUF replies came "
                            "after QEMU's 1 s timeout")
        alive = streamed.vmcast.poll() is None
        if not alive:
            failures.append(f"vmcast exited with status {streamed.vmcast.returncode}")
        if failures:
            failures.append("vmcast's log ends:\n" + streamed.vmcast_log()[-3000:])
        print(f"every process's log: {session.log_dir}")
        heap_end, fds_end = process_usage(pid) if alive else (0, 0)
    result.update(heap_start=heap_start, heap_end=heap_end, heap_peak=max(peak[0], heap_end),
                  fds_start=fds_start, fds_end=fds_end, alive=alive)
    return result, failures, exact


def markdown(minutes: float, result: dict, exact: bool) -> str:
    sent, rejected = result.get("sent", {}), result.get("rejected", {})
    rows = [{"method": m, "sent": sent.get(m, 0), "refused": rejected.get(m, 0)}
            for m in sorted(METHODS)]
    rows.append({"method": "all", "sent": sum(sent.values()), "refused": sum(rejected.values())})
    calls = report.markdown_table(rows, [("method", lambda r: r["method"]),
                                         ("sent", lambda r: r["sent"]),
                                         ("refused by vmcast", lambda r: r["refused"])])
    summary = report.markdown_table([result], [
        ("seed", lambda r: r.get("seed")),
        ("minutes", lambda r: f"{minutes:g}"),
        ("unanswered", lambda r: r.get("timeouts", 0) + r.get("unanswered", 0)),
        ("slowest reply ms", lambda r: f"{r.get('slowest_reply_us', 0) / 1000:.0f}"),
        ("waited replies over 1 s", lambda r: r.get("late_for_qemu")),
        ("slowest waited ms", lambda r: f"{r.get('slowest_waited_reply_us', 0) / 1000:.0f}"),
        ("heap KiB start / peak / end",
         lambda r: f"{r['heap_start']} / {r['heap_peak']} / {r['heap_end']}"),
        ("fds start / end", lambda r: f"{r['fds_start']} / {r['fds_end']}"),
        ("vmcast alive", lambda r: "yes" if r["alive"] else "no"),
        ("final frame exact", lambda r: "yes" if exact else "no"),
    ])
    return calls + "\n\n" + summary + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("minutes", type=float, nargs="?", default=30.0)
    parser.add_argument("--seed", type=int, help="replay this seed (default: a random one)")
    parser.add_argument("--build", type=Path, default=TOP / "build")
    args = parser.parse_args()
    build = args.build.resolve()
    os.environ.update(VMCAST_BIN=str(build / "src/app/vmcast"),
                      VMCAST_FAKE_QEMU_BIN=str(build / "tests/fake-qemu/vmcast-fake-qemu"),
                      VMCAST_CONSUMER_BIN=str(build / "tests/tools/vmcast-frame-consumer"))
    workdir = Path(tempfile.mkdtemp(prefix="vmcast-hostile-"))
    result, failures, exact = run(args.minutes, args.seed, workdir)
    print("\n" + markdown(args.minutes, result, exact))
    for failure in failures:
        print(f"FAILED: {failure}")
    print(f"logs and pictures: {workdir}")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
