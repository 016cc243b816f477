"""One round of the fake peer's `hostile` mode against vmcast (see tests/fake-qemu/README.md),
with the checks on what came out; for test_hostile_peer.py and bench/hostile."""
from __future__ import annotations

from peer_streaming import StreamedPeer

# Every listener method the peer sends on 10.1, to a listener with Map and ScanoutDMABUF2.
METHODS = {"Scanout", "Update", "CursorDefine", "MouseSet", "Disable", "ScanoutDMABUF",
           "ScanoutDMABUF2", "UpdateDMABUF", "ScanoutMap", "UpdateMap"}
# Methods without a malformed form: any position and any Disable are fine.
ALWAYS_VALID = {"Disable", "MouseSet"}


def hostile_round(run: StreamedPeer, seconds: float, seed: int | None = None) -> dict:
    """Runs `hostile` for seconds (seed None: the peer picks one and reports it) and returns the
    peer's result, with "expected": the path of the final frame's intended picture."""
    expected = run.expected_path()
    line = f"hostile duration={seconds:g} save={expected}" + ("" if seed is None else f" seed={seed}")
    result = run.peer.command(line, timeout=seconds + 60)
    print(f"hostile: seed={result.get('seed')} sent={result.get('sent')} "
          f"rejected={result.get('rejected')}", flush=True)
    return {**result, "expected": expected}


def check_hostile_round(run: StreamedPeer, result: dict) -> None:
    """vmcast answered every call, refused the malformed ones, is still up and shows the final
    frame exactly. (How fast it answered, against QEMU's 1 s, is bench/hostile's: a loaded
    machine makes any time bound in a test flaky.)"""
    assert result["ok"], (f"the final Scanout was refused: {result}\n"
                          f"listeners closed: {run.peer.events('listener-closed')}")
    assert result["timeouts"] == 0 and result["unanswered"] == 0, (
        f"calls left without an answer for 25 s: {result}")
    assert set(result["sent"]) == METHODS, f"not every method was sent: {result}"
    assert set(result["rejected"]) >= METHODS - ALWAYS_VALID, (
        f"a method was never refused, so its malformed values did not arrive: {result}")
    run.assert_alive()
    run.wait_picture(result["expected"], timeout=15, what=f"final frame of seed {result['seed']}")
