"""How long vmcast's nodes are away after a PipeWire restart: PipeWire and WirePlumber are killed
(SIGKILL, as a crash), PipeWire is started again 0.2 to 1 s later, and the time is taken from its
socket accepting a connection to every one of vmcast's nodes being in its registry (as `pw-mon`,
started the moment the socket accepts, reports them). The fake QEMU peer shows 1 and 4 consoles
of 1920×1080; RESTARTS restarts each."""
from __future__ import annotations

import os
import random
import re
import select
import socket
import statistics
import subprocess
import time

import report
from rig import Tools, stop_process
from vmcast_testlib import wait_for
from vmcast_testlib.fake_qemu import FakeQemu

CONSOLES = [1, 4]
RESTARTS = 10
TIMEOUT = 30.0
_NODE_NAME = re.compile(r'node\.name = "([^"]+)"')


def socket_accepts(path: str) -> bool:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        try:
            probe.connect(path)
            return True
        except OSError:
            return False


def nodes_back_after(session, nodes: set[str]) -> float:
    """Starts PipeWire, and returns the seconds from its socket accepting to all nodes listed."""
    socket_path = str(session.runtime_dir / "pipewire-0")
    session.start_daemon("pipewire", wait=False)
    deadline = time.monotonic() + TIMEOUT
    while not socket_accepts(socket_path):
        if time.monotonic() > deadline:
            raise AssertionError(f"PipeWire's socket did not accept within {TIMEOUT} s")
        time.sleep(0.001)
    accepted = time.monotonic()
    # Line-buffered, so each global is read as pw-mon prints it.
    monitor = subprocess.Popen(["stdbuf", "-oL", "pw-mon", "-N"], env=session.env,
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        missing = set(nodes)
        text = ""
        while missing:
            if time.monotonic() > deadline or monitor.poll() is not None:
                raise AssertionError(f"vmcast's nodes {sorted(missing)} did not come back")
            # The pipe itself, not a buffered reader: select() sees only what is still in it.
            ready, _, _ = select.select([monitor.stdout], [], [], 0.5)
            if ready:
                text += os.read(monitor.stdout.fileno(), 65536).decode(errors="replace")
                missing -= set(_NODE_NAME.findall(text))
        return time.monotonic() - accepted
    finally:
        monitor.terminate()
        monitor.wait(timeout=5)


def restart_rows(session, tools: Tools, log) -> list[dict]:
    rows = []
    rng = random.Random(19)
    for consoles in CONSOLES:
        name = f"restart{consoles}"
        peer = FakeQemu(session.env, name=name, consoles=consoles, version="7.2")
        vmcast = session.spawn([tools.vmcast, "run"], name=f"vmcast-{name}")
        try:
            for console in range(consoles):
                peer.wait_listener(console=console, timeout=20)
                peer.command(f"scanout console={console} width=1920 height=1080 "
                             f"pattern=gradient", timeout=20, check=True)
            nodes = {f"vmcast.{name}.{console}" for console in range(consoles)}
            wait_for(lambda: all(session.find_node(node) for node in nodes), TIMEOUT, 0.2,
                     what=f"{name}: vmcast's nodes")
            seconds = []
            for _ in range(RESTARTS):
                session.kill_daemon("wireplumber")
                session.kill_daemon("pipewire")
                # Down for a while, as long as a restart takes: vmcast's 200 ms retries meet the
                # daemon's return at any point of their interval.
                time.sleep(rng.uniform(0.2, 1.0))
                seconds.append(nodes_back_after(session, nodes))
                session.start_daemon("wireplumber")
                assert vmcast.poll() is None, "vmcast exited"
            ms = sorted(s * 1000 for s in seconds)
            row = {"consoles": consoles, "restarts": RESTARTS, "min_ms": ms[0],
                   "median_ms": statistics.median(ms), "max_ms": ms[-1]}
            log(row)
            rows.append(row)
        finally:
            stop_process(vmcast)
            peer.stop()
    return rows


def markdown(machine: str, rows: list[dict]) -> str:
    return "\n".join([
        f"Measured {machine}: PipeWire and WirePlumber killed, PipeWire started again 0.2 to "
        f"1 s later; the time "
        f"from its socket accepting a connection to all of vmcast's nodes in its registry "
        f"(`bench/pipewire_restart.py`, {RESTARTS} restarts each, consoles of 1920×1080 from "
        f"the fake QEMU peer).", "",
        report.markdown_table(rows, [
            ("consoles", lambda r: r["consoles"]),
            ("restarts", lambda r: r["restarts"]),
            ("min ms", report.num("min_ms")),
            ("median ms", report.num("median_ms")),
            ("max ms", report.num("max_ms")),
        ]),
    ]) + "\n"
