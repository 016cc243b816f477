"""What a process costs, read from /proc: CPU time in nanoseconds (the scheduler's own
accounting, finer than clock ticks), context switches (each voluntary one is a wakeup), and RSS.
Threads are summed; a thread that exits between two samples takes its time with it, so sample
long-lived processes only."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass
class ProcSample:
    cpu_ns: int = 0
    wakeups: int = 0      # voluntary context switches: the thread slept and was woken
    preemptions: int = 0  # involuntary context switches
    rss_kib: int = 0

    def __sub__(self, other: "ProcSample") -> "ProcSample":
        return ProcSample(self.cpu_ns - other.cpu_ns, self.wakeups - other.wakeups,
                          self.preemptions - other.preemptions, self.rss_kib)

    def __add__(self, other: "ProcSample") -> "ProcSample":
        return ProcSample(self.cpu_ns + other.cpu_ns, self.wakeups + other.wakeups,
                          self.preemptions + other.preemptions, self.rss_kib + other.rss_kib)


def _status_fields(path: Path) -> dict[str, str]:
    fields = {}
    for line in path.read_text().splitlines():
        key, _, value = line.partition(":")
        fields[key] = value.strip()
    return fields


def sample(pid: int, *, skip_threads: tuple[str, ...] = (),
           only_threads: tuple[str, ...] = ()) -> ProcSample:
    """Sums the threads of pid. skip_threads / only_threads filter by thread name prefix (e.g.
    QEMU's vCPU threads are "CPU 0/TCG"), to separate a guest's own work from a display path."""
    result = ProcSample()
    task_dir = Path(f"/proc/{pid}/task")
    for task in task_dir.iterdir():
        try:
            name = (task / "comm").read_text().strip()
            if skip_threads and name.startswith(skip_threads):
                continue
            if only_threads and not name.startswith(only_threads):
                continue
            result.cpu_ns += int((task / "schedstat").read_text().split()[0])
            status = _status_fields(task / "status")
        except (FileNotFoundError, ProcessLookupError):
            continue  # the thread ended while we looked
        result.wakeups += int(status.get("voluntary_ctxt_switches", "0"))
        result.preemptions += int(status.get("nonvoluntary_ctxt_switches", "0"))
    try:
        status = _status_fields(Path(f"/proc/{pid}/status"))
        result.rss_kib = int(status.get("VmRSS", "0 kB").split()[0])
    except (FileNotFoundError, ProcessLookupError):
        pass
    return result


def cpu_count() -> int:
    return os.cpu_count() or 1
