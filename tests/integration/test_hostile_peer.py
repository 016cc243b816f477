"""A stateful hostile QEMU: the fake peer's `hostile` command sends random but well-typed
listener calls for a while (sizes, strides, formats and rects valid and not, updates before
scanouts, memfds shrunk under vmcast's mappings or closed early, cursor and MouseSet storms,
DMA-BUF and Map interleaved, consoles resized and leaving the ObjectManager), then one valid
Scanout. vmcast must stay up, answer every call, show the final frame exactly, and hold no more
fds or heap than before. (bench/hostile also holds its answers to QEMU's 1 s timeout.) One fixed seed and one random seed (the
output says which: `hostile seed=N` replays a run)."""
from __future__ import annotations

from hostile_run import check_hostile_round, hostile_round
from peer_streaming import streamed_peer
from vmcast_testlib import MEASURABLE_HEAP_ENV, process_usage, uses_address_sanitizer, wait_for

SECONDS = 10  # per seed: the whole test stays under a minute under AddressSanitizer
FIXED_SEED = 23
FD_SLACK = 2
HEAP_SLACK_KIB = 4096


def test_vmcast_survives_a_hostile_peer_and_shows_its_final_frame(session, artifacts, tmp_path):
    with streamed_peer(session, artifacts, tmp_path, name="hostile", version="10.1",
                       vmcast_env=MEASURABLE_HEAP_ENV) as run:
        result, picture = run.send("scanout width=320 height=240 pattern=gradient")
        assert result["ok"], result
        run.wait_picture(picture, what="first picture")
        heap_before, fds_before = process_usage(run.vmcast.pid)

        for seed in (FIXED_SEED, None):
            check_hostile_round(run, hostile_round(run, SECONDS, seed))

        wait_for(lambda: process_usage(run.vmcast.pid)[1] <= fds_before + FD_SLACK, timeout=10,
                 what=f"vmcast's fds back to {fds_before} (now {process_usage(run.vmcast.pid)[1]})")
        heap_after = process_usage(run.vmcast.pid)[0]
        if not uses_address_sanitizer(run.vmcast.pid):
            assert heap_after - heap_before < HEAP_SLACK_KIB, (
                f"vmcast's heap grew from {heap_before} to {heap_after} KiB")
        assert run.consumer.alive(), run.consumer.describe()
