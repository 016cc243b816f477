"""bench/soak, vmcast's long run, for half a minute: the whole cycle (consumers joining and
leaving, gst-launch, a Chromium viewer, grim, wf-recorder, a VM killed and started again) runs,
and the command prints its summary, so that it cannot rot. Every check must pass but the RSS
band: half a minute of cycles of 8 s has no steady state to hold RSS to (the allocator is still
growing its arenas); fds, threads, shared mappings, frames and every client are checked. Its
figures over a long run are in bench/README.md."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

SOAK = Path(__file__).resolve().parents[2] / "bench" / "soak.py"


def test_a_short_soak_prints_its_summary_and_passes(tmp_path):
    result = subprocess.run([sys.executable, str(SOAK), "0.5", "--warmup", "0.1", "--interval",
                             "5", "--build", os.environ["VMCAST_BUILD_ROOT"], "--out",
                             str(tmp_path)], capture_output=True, text=True, timeout=600)
    print(result.stdout, result.stderr[-4000:], sep="\n")
    summary = (tmp_path / "soak.md").read_text()
    checks = [line for line in summary.splitlines() if line.endswith(("passed |", "failed** |"))]
    assert len(checks) == 7, summary
    held = [line for line in checks if not line.startswith("| RSS at cycle starts")]
    assert len(held) == 6, summary
    assert all(line.endswith("| passed |") for line in held), summary
    assert result.stdout.rstrip().endswith(("soak: passed", "soak: FAILED")), result.stdout
