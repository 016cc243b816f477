"""GDBus against sd-bus receiving QEMU's Listener.Update on a p2p connection
(bench/dbus_receive.cpp): the receiver's CPU per message, messages a second and its wakeups,
for a 64×64 update and a full 1080p one, best of three runs (the machine is shared)."""
from __future__ import annotations

import json
import subprocess

import report

SIZES = [(64, 64, 3000), (1920, 1080, 200)]
RUNS = 3


def rows(program: str, log) -> list[dict]:
    best: dict[tuple, dict] = {}
    for width, height, messages in SIZES:
        for _ in range(RUNS):
            out = subprocess.run([program, str(width), str(height), str(messages)],
                                 capture_output=True, text=True, timeout=300, check=True).stdout
            for line in out.splitlines():
                row = json.loads(line)
                key = (row["library"], width, height)
                if key not in best or row["cpu_us_per_message"] < best[key]["cpu_us_per_message"]:
                    best[key] = row
    result = list(best.values())
    for row in result:
        log(row)
    return result


def markdown(machine: str, rows: list[dict]) -> str:
    return "\n".join([
        f"Measured {machine}: a GDBus sender (as QEMU) calls `Update` on a p2p socket pair, one "
        f"call after another; the receiver takes the arguments and replies "
        f"(`bench/dbus_receive.cpp`; best of {RUNS} runs).", "",
        report.markdown_table(rows, [
            ("receiver", lambda r: r["library"]),
            ("update", lambda r: f"{r['width']}×{r['height']}"),
            ("CPU µs per message", report.num("cpu_us_per_message", 1)),
            ("messages/s", report.num("messages_per_s")),
            ("wakeups per message", report.num("wakeups_per_message", 2)),
        ]),
    ]) + "\n"
