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
can tell how many updates arrived between two moments of its own. stdlib only.
"""
from __future__ import annotations

import argparse
import json
import signal
import socket
import struct
import sys
import time
from dataclasses import dataclass
from typing import BinaryIO

# Raw only, so the server does no compression work that a comparison of display paths would hide:
# for QEMU, Raw with the pixel format below is its cheapest path (a straight copy of its 32-bit
# surface). DesktopSize lets the server announce a resolution change instead of failing.
ENCODING_RAW = 0
ENCODING_DESKTOP_SIZE = -223
BYTES_PER_PIXEL = 4
# 32 bpp, depth 24, little endian, true colour, 8 bits a channel at shifts 16/8/0: the layout of
# QEMU's own surface, so it needs no conversion.
PIXEL_FORMAT = struct.pack(">BBBBHHHBBBxxx", 32, 24, 0, 1, 255, 255, 255, 16, 8, 0)
SECURITY_NONE = 1
SCRATCH_BYTES = 1 << 20


class ProtocolError(Exception):
    pass


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


class Reader:
    """Buffered reads from the socket: headers come out of the buffer, while large pixel runs go
    straight from the socket into one scratch buffer (BufferedReader bypasses its own buffer for
    reads larger than it), so nothing is allocated per frame."""

    def __init__(self, sock: socket.socket):
        self._file: BinaryIO = sock.makefile("rb", buffering=1 << 16)
        self._scratch = memoryview(bytearray(SCRATCH_BYTES))

    def exact(self, size: int) -> bytes:
        data = self._file.read(size)
        if len(data) < size:
            raise EOFError
        return data

    def skip(self, size: int) -> None:
        while size:
            got = self._file.readinto(self._scratch[:min(size, SCRATCH_BYTES)])
            if not got:
                raise EOFError
            size -= got

    def reason(self) -> str:
        """A failure reason string: u32 length, then text."""
        (length,) = struct.unpack(">I", self.exact(4))
        return self.exact(length).decode(errors="replace")


def negotiate_security(sock: socket.socket, reader: Reader) -> None:
    version = reader.exact(12)  # b"RFB 003.008\n"
    if not version.startswith(b"RFB ") or version[7:8] != b".":
        raise ProtocolError(f"not an RFB server: {version!r}")
    major, minor = int(version[4:7]), int(version[8:11])
    # Servers newer than 3.8 must accept 3.8; 3.4-3.6 are to be treated as 3.3.
    minor = 8 if (major, minor) >= (3, 8) else 7 if minor == 7 else 3
    sock.sendall(b"RFB 003.%03d\n" % minor)
    if minor == 3:  # the server picks the type
        (chosen,) = struct.unpack(">I", reader.exact(4))
        if chosen == 0:
            raise ProtocolError(f"server refused: {reader.reason()}")
    else:
        offered = reader.exact(reader.exact(1)[0])
        if not offered:
            raise ProtocolError(f"server refused: {reader.reason()}")
        chosen = SECURITY_NONE if SECURITY_NONE in offered else offered[0]
        if chosen == SECURITY_NONE:
            sock.sendall(bytes([SECURITY_NONE]))
    if chosen != SECURITY_NONE:
        raise ProtocolError(f"server wants security type {chosen}, only None is supported")
    if minor == 8:  # 3.7 sends no SecurityResult for None
        (result,) = struct.unpack(">I", reader.exact(4))
        if result != 0:
            raise ProtocolError(f"security handshake failed: {reader.reason()}")


def initialise(sock: socket.socket, reader: Reader) -> tuple[int, int]:
    """ClientInit/ServerInit, then our pixel format and encodings; returns the screen size."""
    sock.sendall(b"\x01")  # shared: leave other viewers connected
    width, height = struct.unpack(">HH", reader.exact(4))
    reader.exact(16)  # the server's pixel format; we impose ours
    (name_length,) = struct.unpack(">I", reader.exact(4))
    reader.skip(name_length)
    sock.sendall(b"\x00\x00\x00\x00" + PIXEL_FORMAT)
    encodings = (ENCODING_RAW, ENCODING_DESKTOP_SIZE)
    sock.sendall(struct.pack(f">BxH{len(encodings)}i", 2, len(encodings), *encodings))
    return width, height


def read_update(reader: Reader, counts: Counts, size: tuple[int, int]) -> tuple[int, int]:
    """Reads server messages up to and including one FramebufferUpdate; returns the screen size,
    which a DesktopSize rectangle may have changed."""
    while True:
        kind = reader.exact(1)[0]
        if kind == 0:  # FramebufferUpdate
            break
        if kind == 1:  # SetColourMapEntries: u8 pad, u16 first, u16 count, then 6 bytes each
            _, count = struct.unpack(">xHH", reader.exact(5))
            reader.skip(6 * count)
        elif kind == 3:  # ServerCutText: 3 pad bytes, u32 length, text
            (length,) = struct.unpack(">xxxI", reader.exact(7))
            reader.skip(length)
        elif kind != 2:  # 2 is Bell, which has no body
            raise ProtocolError(f"unexpected server message type {kind}")
    (rects,) = struct.unpack(">xH", reader.exact(3))
    for _ in range(rects):
        _, _, width, height, encoding = struct.unpack(">HHHHi", reader.exact(12))
        if encoding == ENCODING_RAW:
            reader.skip(width * height * BYTES_PER_PIXEL)
            counts.pixel_bytes += width * height * BYTES_PER_PIXEL
        elif encoding == ENCODING_DESKTOP_SIZE:
            size = (width, height)
        else:
            raise ProtocolError(f"encoding {encoding} was not asked for")
    counts.rects += rects
    counts.updates += 1
    return size


def stream(sock: socket.socket, reader: Reader, counts: Counts, started: float) -> None:
    size = initialise(sock, reader)
    incremental = 0  # the first request asks for the whole picture
    while True:
        sock.sendall(struct.pack(">BBHHHH", 3, incremental, 0, 0, *size))
        incremental = 1
        size = read_update(reader, counts, size)
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
