"""`vmcast run` as a server's daemon, with real QEMU 7.2 (TCG, SeaBIOS's text screen) on the
benchmark's private session bus: how soon a VM whose display has just become ready reaches a
consumer, over 20 restarts; and what vmcast costs with 8 idle VMs streamed and nobody watching.

"Display ready" is the moment the bench sees the new QEMU queued for org.qemu (polled with
gdbus, about every 10 ms; QEMU exports its display objects before it asks for the name). "First
frame" is when the consumer, waiting for the node since before QEMU started, received its first
picture (its own CLOCK_MONOTONIC stamp)."""
from __future__ import annotations

import statistics
import time

import procstat
import report
from rig import stop_process
from vmcast_testlib import Qemu, wait_for
from vmcast_testlib.consumer import FrameConsumer

RESTARTS = 20
IDLE_VMS = 8
IDLE_SECONDS = 10.0


def _vmcast(session, tools):
    proc = session.spawn([tools.vmcast, "run"], name="vmcast")
    time.sleep(1.0)  # its bus watch and PipeWire connection are up
    return proc


def _first_frame_ms(session, tools, name: str) -> float:
    # --stamp-at makes the consumer write when each frame came (t_ns, CLOCK_MONOTONIC).
    consumer = FrameConsumer(session, f"vmcast.{name}.0", extra_args=("--stamp-at", "0,0"))
    try:
        before = set(session.queued_owners("org.qemu"))
        qemu = Qemu(session, name).start(wait_bus=False)
        ready_ns = wait_for(
            lambda: time.monotonic_ns() if set(session.queued_owners("org.qemu")) - before
            else None, 60, 0.0, what=f"{name} on the bus")
        picture = consumer.wait_until(lambda: consumer.pictures[0] if consumer.pictures else None,
                                      60, what=f"{name}'s first frame")
        return (picture["t_ns"] - ready_ns) / 1e6, qemu
    finally:
        consumer.stop()


def first_frame_rows(session, tools, log) -> list[dict]:
    vmcast = _vmcast(session, tools)
    delays = []
    try:
        for restart in range(RESTARTS):
            delay, qemu = _first_frame_ms(session, tools, "restarting")
            delays.append(delay)
            qemu.quit()
            wait_for(lambda: session.find_node("vmcast.restarting.0") is None, 30, 0.1,
                     what="the node going with QEMU")
    finally:
        stop_process(vmcast)
    delays.sort()
    row = {"measure": f"display ready → first frame, {RESTARTS} VM restarts",
           "p50_ms": statistics.median(delays),
           "p95_ms": delays[min(len(delays) - 1, round(0.95 * (len(delays) - 1)))],
           "max_ms": delays[-1]}
    log(row)
    return [row]


def idle_rows(session, tools, log) -> list[dict]:
    rows = []
    vmcast = _vmcast(session, tools)
    vms = []
    try:
        for count in (0, IDLE_VMS):
            while len(vms) < count:
                vms.append(Qemu(session, f"idle{len(vms)}").start())
            for vm in vms:
                wait_for(lambda: session.find_node(f"vmcast.{vm.name}.0"), 60, 0.3,
                         what=f"{vm.name}'s node")
            time.sleep(3.0)  # past the VMs' boot: SeaBIOS's screen, a blinking cursor
            start = procstat.sample(vmcast.pid)
            time.sleep(IDLE_SECONDS)
            used = procstat.sample(vmcast.pid) - start
            row = {"measure": f"vmcast with {count} idle VMs, nobody watching",
                   "cpu_percent": used.cpu_ns / IDLE_SECONDS / 1e7,
                   "wakeups_per_s": used.wakeups / IDLE_SECONDS,
                   "rss_mib": used.rss_kib / 1024}
            log(row)
            rows.append(row)
    finally:
        for vm in vms:
            vm.quit()
        stop_process(vmcast)
    return rows


def markdown(machine: str, first: list[dict], idle: list[dict]) -> str:
    return "\n".join([
        f"Measured {machine} (`bench/fleet.py` says how each number is taken).", "",
        report.markdown_table(first, [
            ("", lambda r: r["measure"]),
            ("p50 ms", report.num("p50_ms")),
            ("p95 ms", report.num("p95_ms")),
            ("max ms", report.num("max_ms")),
        ]), "",
        report.markdown_table(idle, [
            ("", lambda r: r["measure"]),
            ("CPU % of a core", report.num("cpu_percent", 2)),
            ("wakeups/s", report.num("wakeups_per_s", 1)),
            ("RSS MiB", report.num("rss_mib", 1)),
        ]),
    ]) + "\n"
