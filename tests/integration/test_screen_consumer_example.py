"""examples/screen-consumer.c, as a user runs it: against vmcast's screen node it prints the
format and writes the picture the fake QEMU peer sent, pixel for pixel."""
from __future__ import annotations

import os

import pytest

from peer_streaming import streamed_peer
from vmcast_testlib import compare, read_ppm, read_vmcast_frame


def test_the_example_writes_the_peers_picture(session, artifacts, tmp_path):
    example = os.environ.get("VMCAST_SCREEN_CONSUMER_BIN")
    if not example:
        pytest.skip("VMCAST_SCREEN_CONSUMER_BIN is not set: examples not built")
    # The test's consumer proves the picture is on screen before the example connects.
    with streamed_peer(session, artifacts, tmp_path, name="example") as run:
        result, picture = run.send("scanout width=61 height=37 pattern=gradient")
        assert result["ok"], result
        run.wait_picture(picture, what="gradient")
        output = tmp_path / "example.ppm"
        res = session.run([example, "vmcast.example.0", str(output)], timeout=30)
        assert res.returncode == 0, f"{res.stdout}{res.stderr}"
        assert res.stdout == "format: BGRx 61x37\n", res.stdout
        written, expected = read_ppm(output), read_vmcast_frame(picture)
        comparison = compare(written, expected)
        if not comparison.equal:
            artifacts.save_image("example-written", written)
            artifacts.save_image("example-expected", expected)
        assert comparison.equal, comparison.describe(written, expected)
        run.assert_alive()
