"""Small helpers shared by the vmcast integration test library (stdlib only)."""
from __future__ import annotations

import os
import socket
import time
from pathlib import Path
from typing import Callable, TypeVar

T = TypeVar("T")


def wait_for(predicate: Callable[[], T], timeout: float = 30.0, interval: float = 0.2,
             what: str = "condition") -> T:
    """Poll `predicate` until it returns something truthy and return that value.

    Raises AssertionError naming `what` (and the last exception the predicate raised, if any)
    after `timeout` seconds, so a test failure says what was being waited for.
    """
    deadline = time.monotonic() + timeout
    last_exc: BaseException | None = None
    while True:
        try:
            value = predicate()
            if value:
                return value
            last_exc = None
        except AssertionError:
            raise
        except Exception as exc:  # noqa: BLE001 - the predicate may fail while things start up
            last_exc = exc
        if time.monotonic() >= deadline:
            detail = f" (last error: {last_exc!r})" if last_exc else ""
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}{detail}")
        time.sleep(interval)


def tail(path: str | os.PathLike, max_bytes: int = 4000) -> str:
    """The end of a (log) file as text, or a note if it cannot be read; for error messages."""
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - max_bytes))
            data = f.read()
    except OSError as exc:
        return f"<cannot read {path}: {exc}>"
    text = data.decode("utf-8", "replace")
    return ("..." if size > max_bytes else "") + text


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# glibc's malloc raises its mmap threshold each time a large block is freed, then keeps freed
# frame-sized blocks in its heap and gives them back only now and then: a process's memory swings
# by 10 MiB between identical rounds. A fixed threshold gives each large block a mapping of its
# own, unmapped when freed, so that what a process holds follows what it keeps alive.
MEASURABLE_HEAP_ENV = {
    "GLIBC_TUNABLES": "glibc.malloc.mmap_threshold=65536:glibc.malloc.trim_threshold=65536"}


def process_usage(pid: int) -> tuple[int, int]:
    """(anonymous resident KiB, open file descriptors) of a process: its heap and private
    mappings, not the libraries it pages in."""
    with open(f"/proc/{pid}/status") as status:
        anon = next(int(line.split()[1]) for line in status if line.startswith("RssAnon:"))
    return anon, len(os.listdir(f"/proc/{pid}/fd"))


def uses_address_sanitizer(pid: int) -> bool:
    """Whether a process runs with AddressSanitizer, which keeps freed memory in quarantine: its
    heap then says nothing about leaks."""
    with open(f"/proc/{pid}/maps") as maps:
        if any("libasan" in line for line in maps):  # GCC's runtime, a shared library
            return True
    # clang links its runtime into the executable.
    return b"__asan_init" in Path(f"/proc/{pid}/exe").read_bytes()
