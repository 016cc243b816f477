#!/usr/bin/env python3
"""A minimal VNC (RFB 3.3/3.7/3.8) viewer that only counts what it receives, for benchmarks: it
runs as its own process so that its CPU time can be measured apart from the server's.

    python3 bench/rfb_client.py --unix PATH [--duration S] [--progress S]

It asks for the whole screen again as soon as an update has been read, so the server sends as
many updates as it can make. Pixels are read into one reused buffer and dropped. On SIGTERM,
SIGINT, --duration or the server closing the connection it prints one JSON line on stdout:
    {"updates": N, "rects": R, "pixel_bytes": B, "first_update_s": S or null}
With --progress S it also prints {"t": T, "updates": N, "rects": R, "pixel_bytes": B} every S
seconds, T being CLOCK_MONOTONIC (time.monotonic(), shared by all processes), so that a harness
can tell how many updates arrived between two moments of its own. stdlib and the test
library's RFB code (tests/integration/vmcast_testlib/rfb.py) only.
"""
from __future__ import annotations

import argparse
import json
import signal
import socket
import sys
import time
from dataclasses import dataclass
from pathlib import Path

if __name__ == "__main__":  # run as a script: the shared RFB code is in the test library
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "integration"))

from vmcast_testlib.rfb import (  # noqa: E402
    BYTES_PER_PIXEL, ProtocolError, Reader, initialise, negotiate_security, read_update,
    request_update)


class Stop(Exception):
    """Raised by the signal handlers: SIGTERM/SIGINT, or --duration is over."""


@dataclass
class Counts:
    updates: int = 0
    rects: int = 0
    pixel_bytes: int = 0
    first_update_s: float | None = None

    def summary(self) -> dict:
        return {"updates": self.updates, "rects": self.rects, "pixel_bytes": self.pixel_bytes,
                "first_update_s": self.first_update_s}


def stream(sock: socket.socket, reader: Reader, counts: Counts, started: float) -> None:
    size = initialise(sock, reader)

    def drop(x: int, y: int, width: int, height: int) -> None:
        reader.skip(width * height * BYTES_PER_PIXEL)
        counts.pixel_bytes += width * height * BYTES_PER_PIXEL

    incremental = False  # the first request asks for the whole picture
    while True:
        request_update(sock, incremental, size)
        incremental = True
        size, rects = read_update(reader, size, drop)
        counts.rects += rects
        counts.updates += 1
        if counts.first_update_s is None:
            counts.first_update_s = round(time.monotonic() - started, 4)


def print_json(obj: dict) -> None:
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def install_handlers(counts: Counts, duration: float, progress: float, started: float) -> None:
    """Stopping and progress lines both run from signal handlers, which Python runs in the main
    thread between bytecodes: a blocked recv is interrupted, the main loop needs no timeouts, and
    as the main loop never prints, the handlers' prints cannot interleave with anything. Stop is
    raised once at most, so a second signal cannot interrupt the summary."""
    armed = True

    def stop(signum: int, frame: object) -> None:
        nonlocal armed
        if armed:
            armed = False
            raise Stop

    def tick(signum: int, frame: object) -> None:
        now = time.monotonic()
        if progress and armed:
            print_json({"t": now, "updates": counts.updates, "rects": counts.rects,
                        "pixel_bytes": counts.pixel_bytes})
        if duration and now - started >= duration:
            stop(signum, frame)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGALRM, tick)
    interval = progress or duration
    if interval:
        signal.setitimer(signal.ITIMER_REAL, interval, interval)


def quiet_handlers() -> None:
    """No more ticks or stops once the summary is being printed."""
    signal.setitimer(signal.ITIMER_REAL, 0)
    for signum in (signal.SIGALRM, signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, signal.SIG_IGN)


def run(path: str, counts: Counts, started: float) -> int:
    """Streams until the server closes the connection (exit status 0) or fails (2); Stop, from
    the signal handlers, goes through to the caller."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.connect(path)
            reader = Reader(sock)
            negotiate_security(sock, reader)
            stream(sock, reader, counts, started)
    except (EOFError, ConnectionResetError):
        return 0  # the server went away (QEMU quit): the end of a run, not an error
    except (OSError, ProtocolError) as exc:
        print(f"rfb_client: {exc}", file=sys.stderr)
        return 2
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--unix", required=True, help="the VNC server's Unix socket")
    parser.add_argument("--duration", type=float, default=0.0, help="seconds to run (0: forever)")
    parser.add_argument("--progress", type=float, default=0.0,
                        help="print running counts every this many seconds (0: never)")
    args = parser.parse_args()

    counts = Counts()
    started = time.monotonic()
    install_handlers(counts, args.duration, args.progress, started)
    try:
        status = run(args.unix, counts, started)
    except Stop:
        status = 0
    quiet_handlers()
    print_json(counts.summary())
    return status


if __name__ == "__main__":
    sys.exit(main())
