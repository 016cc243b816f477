"""Shared set-up for tests that drive vmcast with the fake QEMU peer: a peer on the session's bus,
`vmcast run` streaming it, and a PipeWire consumer reading the stream."""
from __future__ import annotations

import os
import re
from contextlib import contextmanager
from pathlib import Path

import pytest

from vmcast_testlib import compare, read_vmcast_frame, wait_for
from vmcast_testlib.consumer import FrameConsumer
from vmcast_testlib.fake_qemu import FakeQemu


class StreamedPeer:
    def __init__(self, session, peer: FakeQemu, vmcast, consumer: FrameConsumer | None, workdir: Path,
                 artifacts):
        self.session = session
        self.peer = peer
        self.vmcast = vmcast
        self.consumer = consumer
        self.workdir = workdir
        self.artifacts = artifacts
        self._saves = 0

    def expected_path(self) -> str:
        self._saves += 1
        return str(self.workdir / f"expected-{self._saves}.frame")

    def send(self, line: str) -> tuple[dict, str]:
        """Sends a peer command with save=, returns (result, path of the intended picture)."""
        path = self.expected_path()
        result = self.peer.command(f"{line} save={path}", timeout=15)
        return result, path

    def vmcast_log(self) -> str:
        return self.session.log_path(self.vmcast.log_name, "stderr").read_text(errors="replace")

    def rejection_warnings(self) -> list[str]:
        return re.findall(r"^vmcast-qemu: warning: .*rejected .*$", self.vmcast_log(), re.M)

    def assert_alive(self) -> None:
        assert self.vmcast.poll() is None, f"vmcast exited:\n{self.vmcast_log()[-3000:]}"

    def wait_picture(self, expected_path: str, timeout: float = 15.0, what: str = "picture",
                     tolerance: int = 0):
        """Waits until the consumer's latest picture equals the peer's intended picture, each
        channel within tolerance (for pictures that went through YUV)."""
        expected = read_vmcast_frame(expected_path)
        last = {}

        def matches() -> bool:
            if not self.consumer.pictures:
                return False
            image = self.consumer.latest_image()
            last["image"] = image
            if image.size != expected.size:
                return False
            return compare(image, expected).max_channel_diff <= tolerance

        try:
            wait_for(matches, timeout=timeout, what=f"the stream showing the {what}")
        except AssertionError:
            image = last.get("image")
            detail = compare(image, expected).describe(image, expected) if image else "no picture"
            if image:
                self.artifacts.save_image(f"{what}-streamed", image)
            self.artifacts.save_image(f"{what}-expected", expected)
            raise AssertionError(f"{what}: {detail}\n{self.consumer.describe()}")

    def resize_and_wait(self, consumers, width: int, height: int) -> None:
        """Shows a gradient of a new size and waits until each (name, consumer) shows it; the
        last one stays self.consumer."""
        result, picture = self.send(f"scanout width={width} height={height} pattern=gradient")
        assert result["ok"], result
        for which, consumer in consumers:
            self.consumer = consumer
            self.wait_picture(picture, timeout=10,
                              what=f"{which} consumer's picture at {width}x{height}")


@contextmanager
def streamed_peer(session, artifacts, tmp_path, *, name="peer", version="7.2", fmt="BGRx",
                  vmcast_args=(), consumer_args=(), with_consumer=True, vmcast_env=None,
                  peer_args=()):
    """with_consumer=False: no PipeWire consumer, so the test's own is the stream's first.
    vmcast_env: extra environment for vmcast. peer_args: extra fake QEMU options."""
    vmcast_bin = os.environ.get("VMCAST_BIN")
    if not vmcast_bin or not os.environ.get("VMCAST_FAKE_QEMU_BIN"):
        pytest.skip("VMCAST_BIN or VMCAST_FAKE_QEMU_BIN not set")
    with FakeQemu(session.env, name=name, version=version, extra_args=peer_args) as peer:
        vmcast = session.spawn([vmcast_bin, "run", "--verbose", *vmcast_args], name="vmcast",
                               env=vmcast_env)
        peer.wait_listener(timeout=20)
        if not with_consumer:
            yield StreamedPeer(session, peer, vmcast, None, tmp_path, artifacts)
            return
        dump = tmp_path / "latest.frame"
        with FrameConsumer(session, f"vmcast.{name}.0", dump, fmt=fmt,
                           extra_args=list(consumer_args)) as consumer:
            yield StreamedPeer(session, peer, vmcast, consumer, tmp_path, artifacts)
