"""vmcast against real QEMU 7.2 (-display dbus on a private session bus), real PipeWire +
WirePlumber and real consumers (vmcast-frame-consumer, gst-launch-1.0 pipewiresrc).

CLI contract under test:
  vmcast run [--address ADDR] [--vm NAME]... [--verbose] one PipeWire node per graphic console N,
      node.name vmcast.<vm-name>.<N>, media.class Video/Source, BGRx/BGRA; exit 0 on SIGINT/SIGTERM;
      waits for VMs while there is none; a one-line error and a non-zero exit when it cannot
      work (bad bus, no PipeWire).
  vmcast list                                          prints VMs and consoles
  vmcast screenshot [--console N] FILE.png             the console as PNG

Pixel checks pause the VM (QMP stop) and then wait until the consumer's latest frame equals QMP
screendump exactly; on failure both images are saved to the artefact directory.
"""
from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import pytest

from vmcast_testlib import Qemu, compare, read_png, read_ppm, read_vmcast_frame, tail, wait_for
from vmcast_testlib.consumer import FrameConsumer
from vmcast_testlib.images import Image

BOOT_TIMEOUT = 180    # TCG on two slow cores, with vmcast and consumers competing for CPU
NODE_TIMEOUT = 30
MATCH_TIMEOUT = 20


def node_name(vm: str, console: int = 0) -> str:
    return f"vmcast.{vm}.{console}"


class Vmcast:
    """`vmcast run` as a tracked subprocess of the session."""

    def __init__(self, session, binary: Path, *args: str, verbose: bool = True, env=None):
        self.session = session
        argv = [str(binary), "run", *args] + (["--verbose"] if verbose else [])
        self.proc = session.spawn(argv, name="vmcast", env=env)

    def logs(self) -> str:
        return tail(self.session.log_path(self.proc.log_name, "stderr"))

    def wait_node(self, name: str, timeout: float = NODE_TIMEOUT) -> dict:
        def node():
            if self.proc.poll() is not None:
                raise AssertionError(f"vmcast exited ({self.proc.returncode}) before creating "
                                     f"{name}:\n{self.logs()}")
            return self.session.find_node(name)
        try:
            return wait_for(node, timeout, 0.3, what=f"PipeWire node {name}")
        except AssertionError as exc:
            raise AssertionError(f"{exc}\nvmcast stderr:\n{self.logs()}") from None

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15) -> int:
        self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            pytest.fail(f"vmcast did not exit within {timeout}s of signal {sig}\n{self.logs()}")


def latest_frame(dump: Path) -> Image:
    """The consumer's latest picture (written atomically by rename, so never half a frame)."""
    return read_vmcast_frame(dump)


def assert_stream_matches(qemu: Qemu, dump: Path, artifacts, label: str,
                          device: str | None = None, timeout: float = MATCH_TIMEOUT) -> Image:
    """Pause the VM, then wait until the consumer's latest frame equals the screendump."""
    qemu.stop()
    expected = qemu.screendump(device)
    last: dict = {}

    def matches() -> bool:
        img = latest_frame(dump)
        last.update(img=img, header=img.header)
        return compare(img, expected).equal
    try:
        wait_for(matches, timeout, 0.25, what=f"{label}: stream frame == screendump")
        return expected
    except AssertionError as exc:
        failure = str(exc)  # fail outside the except block: one clean traceback
    got = last.get("img")
    pe = artifacts.save_image(f"{label}-screendump", expected)
    if got is None:
        pytest.fail(f"{failure}; no frame dumped by the consumer (screendump saved to {pe})")
    pg = artifacts.save_image(f"{label}-stream", got)
    pytest.fail(f"{failure}\n{label}: {compare(got, expected).describe(got, expected)}; last "
                f"frame header {last['header']}; saved {pg} and {pe}")


def start_stream(session, qemu_name: str, vmcast_bin, tmp_path, console: int = 0,
                 vmcast: Vmcast | None = None):
    vmcast = vmcast or Vmcast(session, vmcast_bin)
    node = vmcast.wait_node(node_name(qemu_name, console))
    dump = tmp_path / f"latest-{console}.frame"
    consumer = FrameConsumer(session, node_name(qemu_name, console), str(dump))
    return vmcast, node, consumer, dump


def wait_pictures(consumer, n: int = 1, timeout: float = 30, what: str = "pictures") -> list[dict]:
    """Frames that carried pixels (the consumer also reports cursor-only buffers as frames)."""
    return consumer.wait_until(lambda: list(consumer.pictures) if len(consumer.pictures) >= n
                               else None, timeout, what=f"{n} {what}")


def assert_gets_a_picture(session, node: str) -> None:
    """A new consumer of the node gets a picture."""
    consumer = FrameConsumer(session, node)
    try:
        wait_pictures(consumer)
    finally:
        consumer.stop()


def boot_guest(session, guest, name: str, mode: str, **kw) -> Qemu:
    return Qemu(session, name, **guest.qemu_args(mode), **kw).start()


# -- streams --------------------------------------------------------------------------------------

def test_firmware_text_screen(vmcast_bin, consumer_bin, session, tmp_path, artifacts):
    """SeaBIOS's 720x400 text screen: reached by a resize that QEMU 7.2 signals without a
    Scanout (only Width/Height changes and Update bands), so this checks vmcast follows it."""
    qemu = Qemu(session, "fw").start()
    vmcast, node, consumer, dump = start_stream(session, "fw", vmcast_bin, tmp_path)
    try:
        props = node["info"]["props"]
        assert props.get("media.class") == "Video/Source", props
        wait_for(lambda: qemu.screendump().size == (720, 400), 60, 0.5,
                 what="SeaBIOS text mode (720x400)")
        frame = wait_pictures(consumer)[-1]
        assert frame["format"] in ("BGRx", "BGRA"), frame
        # Shared memory that PipeWire allocates (one memfd shared with every consumer), which a
        # consumer sees as MemPtr; never a DMA-BUF without a GPU.
        assert frame.get("data_type") in ("MemPtr", "MemFd"), f"expected shared memory: {frame}"
        assert frame["chunk_stride"] == frame["width"] * 4, f"expected a tight stride: {frame}"
        img = assert_stream_matches(qemu, dump, artifacts, "fw")
        assert img.size == (720, 400) and not img.is_uniform()
        consumer.assert_no_bad_buffers()
    finally:
        consumer.stop()


def test_guest_resolution_switch(vmcast_bin, consumer_bin, guest, session, tmp_path,
                                 artifacts):
    """vmcast attaches while the CPUs are still stopped (-S, QEMU's 640x480 placeholder), then
    the guest goes through SeaBIOS text mode to VESA 1024x768x24 and draws its pattern."""
    qemu = boot_guest(session, guest, "switch", "pattern", paused=True)
    vmcast, node, consumer, dump = start_stream(session, "switch", vmcast_bin, tmp_path)
    try:
        wait_pictures(consumer, 1, 30, "initial picture (VM not started yet)")
        qemu.cont()
        qemu.wait_serial("VMCAST-GUEST: ready mode=pattern", BOOT_TIMEOUT)
        wait_for(lambda: latest_frame(dump).size == (1024, 768), 30, 0.5,
                 what="a 1024x768 frame at the consumer")
        img = assert_stream_matches(qemu, dump, artifacts, "switch")
        assert img.size == (1024, 768)
        if guest.pattern is not None:
            expected = read_ppm(guest.pattern)
            cmp = compare(img, expected)
            assert cmp.equal, f"screen is not the guest pattern: {cmp.describe(img, expected)}"
        sizes = sorted({(f["width"], f["height"]) for f in consumer.pictures})
        assert len(sizes) >= 2 and (1024, 768) in sizes, f"sizes seen by the consumer: {sizes}"
        consumer.assert_no_bad_buffers()
    finally:
        consumer.stop()


def test_two_consoles(vmcast_bin, consumer_bin, session, tmp_path, artifacts):
    """-vga std -device VGA,id=vga1: Console_0 keeps the 640x480 placeholder and SeaBIOS draws
    its text screen on vga1 (Console_1), so crossed streams cannot compare equal."""
    qemu = Qemu(session, "two", extra_args=["-device", "VGA,id=vga1"]).start()
    vmcast, _, c0, dump0 = start_stream(session, "two", vmcast_bin, tmp_path, 0)
    _, _, c1, dump1 = start_stream(session, "two", vmcast_bin, tmp_path, 1, vmcast=vmcast)
    try:
        wait_for(lambda: qemu.screendump("vga1").size == (720, 400), 60, 0.5,
                 what="SeaBIOS text mode on vga1")
        wait_pictures(c0)
        wait_pictures(c1)
        img0 = assert_stream_matches(qemu, dump0, artifacts, "console0")
        img1 = assert_stream_matches(qemu, dump1, artifacts, "console1", device="vga1")
        assert not compare(img0, img1).equal, "both consoles show the same picture"
        c0.assert_no_bad_buffers()
        c1.assert_no_bad_buffers()
    finally:
        c0.stop()
        c1.stop()


def test_changing_screen(vmcast_bin, consumer_bin, guest, session, tmp_path):
    """Noise guest: a real GStreamer consumer gets 30 buffers, and frames keep coming."""
    qemu = boot_guest(session, guest, "noise", "noise")
    vmcast, _, consumer, _ = start_stream(session, "noise", vmcast_bin, tmp_path)
    try:
        qemu.wait_serial("VMCAST-GUEST: ready mode=noise", BOOT_TIMEOUT)
        argv = ["gst-launch-1.0", "pipewiresrc", f"target-object={node_name('noise')}",
                "num-buffers=30", "!", "video/x-raw", "!", "fakesink"]
        t0 = time.monotonic()
        try:
            res = session.run(argv, timeout=60)
        except subprocess.TimeoutExpired:
            pytest.fail(f"gst-launch-1.0 did not get 30 buffers within 60s\n{vmcast.logs()}")
        assert res.returncode == 0, f"gst-launch-1.0 failed:\n{res.stdout}\n{res.stderr}"
        print(f"gst-launch got 30 buffers in {time.monotonic() - t0:.1f}s")
        for _ in range(3):
            seq = wait_pictures(consumer)[-1]["seq"]
            assert seq is not None, "frames carry no seq (no Header meta?)"
            consumer.wait_until(lambda: consumer.pictures[-1]["seq"] > seq, 20,
                                what=f"a picture with seq > {seq}")
        seqs = [f["seq"] for f in consumer.pictures]
        assert all(b > a for a, b in zip(seqs, seqs[1:])), f"seq not increasing: {seqs[:50]}"
        assert {(f["width"], f["height"]) for f in consumer.pictures[-3:]} == {(1024, 768)}
        consumer.assert_no_bad_buffers()
    finally:
        consumer.stop()


def test_vm_selection_and_address(vmcast_bin, session):
    """--vm picks one of two VMs on the bus; --address works without DBUS_SESSION_BUS_ADDRESS."""
    Qemu(session, "alpha").start()
    Qemu(session, "beta").start()
    vmcast = Vmcast(session, vmcast_bin, "--vm", "beta", "--address", session.bus_address,
                    env={"DBUS_SESSION_BUS_ADDRESS": "unix:path=/nonexistent/vmcast-test-bus"})
    vmcast.wait_node(node_name("beta"))
    time.sleep(2)  # give a wrong implementation time to export alpha too
    assert session.find_node(node_name("alpha")) is None, "--vm beta also exported alpha"
    assert vmcast.stop() == 0


# -- one-shot commands ----------------------------------------------------------------------------

@pytest.mark.parametrize("case", ["firmware", "pattern", "second-console"])
def test_screenshot(vmcast_bin, guest, session, tmp_path, artifacts, case):
    if case == "pattern":
        qemu = boot_guest(session, guest, "shot", "pattern")
        qemu.wait_serial("VMCAST-GUEST: ready mode=pattern", BOOT_TIMEOUT)
    else:
        extra = ["-device", "VGA,id=vga1"] if case == "second-console" else []
        qemu = Qemu(session, "shot", extra_args=extra).start()
        wait_for(lambda: qemu.screendump("vga1" if extra else None).size == (720, 400), 60, 0.5,
                 what="SeaBIOS text mode")
    qemu.stop()
    device, console_args = ("vga1", ["--console", "1"]) if case == "second-console" else (None, [])
    expected = qemu.screendump(device)
    out = tmp_path / "shot.png"
    res = session.run([str(vmcast_bin), "screenshot", *console_args, str(out)], timeout=60)
    assert res.returncode == 0, f"vmcast screenshot failed ({res.returncode}):\n{res.stderr}"
    got = read_png(out)
    cmp = compare(got, expected)
    if not cmp.equal:
        pg = artifacts.save_image(f"{case}-screenshot", got)
        pe = artifacts.save_image(f"{case}-screendump", expected)
        pytest.fail(f"screenshot != screendump: {cmp.describe(got, expected)}; saved {pg}, {pe}")


def test_list(vmcast_bin, session):
    Qemu(session, "listed", extra_args=["-device", "VGA,id=vga1"]).start()
    res = session.run([str(vmcast_bin), "list"], timeout=30)
    assert res.returncode == 0, res.stderr
    assert "listed" in res.stdout, f"VM name missing from `vmcast list`:\n{res.stdout}"


# -- exit status and errors -----------------------------------------------------------------------

@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_exits_zero_on_signal(vmcast_bin, session, sig):
    Qemu(session, "sig").start()
    vmcast = Vmcast(session, vmcast_bin)
    vmcast.wait_node(node_name("sig"))
    rc = vmcast.stop(sig)
    assert rc == 0, f"vmcast exited {rc} on {sig.name}\n{vmcast.logs()}"
    wait_for(lambda: session.find_node(node_name("sig")) is None, 10, 0.3,
             what="the node to disappear after vmcast exited")


def run_expect_error(session, vmcast_bin, *args: str, env=None, what: str) -> str:
    """vmcast run must fail by itself (not hang) with exactly one line on stderr."""
    full_env = dict(session.env, **(env or {}))
    try:
        res = subprocess.run([str(vmcast_bin), "run", *args], env=full_env, capture_output=True,
                             text=True, timeout=45)
    except subprocess.TimeoutExpired:
        pytest.fail(f"{what}: vmcast run kept running (expected an error exit)")
    lines = [line for line in res.stderr.splitlines() if line.strip()]
    assert res.returncode != 0, f"{what}: vmcast run exited 0\nstderr:\n{res.stderr}"
    assert len(lines) == 1, f"{what}: expected a one-line error, got:\n{res.stderr}"
    print(f"{what}: rc={res.returncode}: {lines[0]}")
    return lines[0]


@pytest.mark.parametrize("address", ["unix:path=/nonexistent/vmcast/bus", "not-a-dbus-address"])
def test_error_bad_bus_address(vmcast_bin, session, address):
    run_expect_error(session, vmcast_bin, "--address", address, what=f"bus address {address}")
    run_expect_error(session, vmcast_bin, env={"DBUS_SESSION_BUS_ADDRESS": address},
                     what=f"DBUS_SESSION_BUS_ADDRESS={address}")


def test_waits_for_a_vm(vmcast_bin, session):
    """No VM on the bus (only a QEMU with -display none): vmcast keeps running and streams the
    VM that starts later (test_vm_follow.py follows VMs further)."""
    Qemu(session, "nodbus", display="none").start()
    assert session.queued_owners("org.qemu") == []
    vmcast = Vmcast(session, vmcast_bin)
    time.sleep(2)
    assert vmcast.proc.poll() is None, f"vmcast exited without a VM:\n{vmcast.logs()}"
    assert not [n for n in session.nodes()
                if ((n.get("info") or {}).get("props") or {}).get("node.name", "")
                .startswith("vmcast.")], "a node without a VM"
    Qemu(session, "later").start()
    vmcast.wait_node(node_name("later"))
    assert vmcast.stop() == 0


def test_error_no_pipewire(vmcast_bin, make_session):
    sess = make_session(pipewire=False)
    Qemu(sess, "nopw").start()
    run_expect_error(sess, vmcast_bin, what="PipeWire not running")
