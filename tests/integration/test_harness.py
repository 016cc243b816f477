"""Sanity checks of the integration-test harness itself, with real parts only: a private bus,
PipeWire + WirePlumber, QEMU 7.2 with -display dbus, the test guest, and image decoding.
If these fail, failures in test_real_qemu.py say nothing about vmcast."""
from __future__ import annotations

import os
import stat
import subprocess
import time
import zlib

import pytest

from vmcast_testlib import (Qemu, QMPError, Session, compare, read_png, read_ppm,
                            read_vmcast_frame, wait_for)
from vmcast_testlib.images import Image


def assert_same(a: Image, b: Image, artifacts, name: str) -> None:
    cmp = compare(a, b)
    if not cmp.equal:
        pa = artifacts.save_image(f"{name}-actual", a)
        pb = artifacts.save_image(f"{name}-expected", b)
        pytest.fail(f"{name}: {cmp.describe(a, b)} (saved {pa} and {pb})")


def test_session_starts_bus_pipewire_wireplumber(session):
    mode = stat.S_IMODE(os.stat(session.runtime_dir).st_mode)
    assert mode == 0o700, f"XDG_RUNTIME_DIR has mode {oct(mode)}"
    assert session.env["XDG_RUNTIME_DIR"] == str(session.runtime_dir)
    assert session.env["DBUS_SESSION_BUS_ADDRESS"] == session.bus_address
    assert session.run(["pw-cli", "info", "0"]).returncode == 0
    # The always-present driver node proves pw-dump parsing and find_node.
    assert session.find_node("Dummy-Driver") is not None
    assert session.find_node("no-such-node") is None
    names = session.bus_call("ListNames")
    assert names.returncode == 0 and "org.freedesktop.DBus" in names.stdout


def test_session_close_kills_everything():
    sess = Session()
    with sess:
        procs = list(sess.procs)
        # A child that ignores SIGTERM and forks a grandchild: close() must still clean up.
        stubborn = sess.spawn(["sh", "-c", "trap '' TERM; sleep 600 & wait"], name="stubborn")
        procs.append(stubborn)
        runtime = sess.runtime_dir
    for proc in procs:
        assert proc.poll() is not None, f"{proc.args} still running after Session.close()"
    assert not runtime.exists(), "session temp dir was not removed"
    assert sess.procs == []


def test_session_without_pipewire(make_session):
    sess = make_session(pipewire=False)
    assert sess.bus_address
    res = sess.run(["pw-cli", "info", "0"], timeout=10)
    assert res.returncode != 0, "pw-cli reached a PipeWire although none was started"


def test_pipewire_consumer_links_with_wireplumber(session):
    """A GStreamer producer node and a pipewiresrc consumer: proves WirePlumber links by
    target-object in our private session (what the vmcast stream tests rely on)."""
    session.spawn(["gst-launch-1.0", "-q", "videotestsrc", "is-live=true", "!",
                   "video/x-raw,format=BGRx,width=160,height=120,framerate=30/1", "!",
                   "pipewiresink", "mode=provide",
                   "stream-properties=props,node.name=harness-producer,media.class=Video/Source"],
                  name="gst-producer")
    wait_for(lambda: session.find_node("harness-producer"), 20, what="the GStreamer producer node")
    res = session.run(["gst-launch-1.0", "-q", "pipewiresrc", "target-object=harness-producer",
                       "num-buffers=10", "!", "video/x-raw", "!", "fakesink"], timeout=60)
    assert res.returncode == 0, res.stdout + res.stderr


def test_firmware_screen_over_dbus(session, artifacts):
    qemu = Qemu(session, "fw").start()
    # The name check the tests document: org.qemu has our QEMU queued on the private bus.
    res = subprocess.run(
        ["gdbus", "call", "--address", session.bus_address, "--dest", "org.freedesktop.DBus",
         "--object-path", "/org/freedesktop/DBus", "--method",
         "org.freedesktop.DBus.ListQueuedOwners", "org.qemu"],
        capture_output=True, text=True, timeout=10)
    assert res.returncode == 0, res.stderr
    assert qemu.dbus_unique_name() in res.stdout
    # The VM object answers on the bus with the name given by -name.
    vm = session.run(["gdbus", "call", "--address", session.bus_address, "--dest", "org.qemu",
                      "--object-path", "/org/qemu/Display1/VM", "--method",
                      "org.freedesktop.DBus.Properties.Get", "org.qemu.Display1.VM", "Name"])
    assert "'fw'" in vm.stdout, vm.stdout + vm.stderr
    # SeaBIOS ends in VGA text mode (720x400) with "No bootable device." on screen.
    img = wait_for(lambda: (lambda i: i if i.size == (720, 400) and not i.is_uniform() else None)(
        qemu.screendump()), 60, 0.5, what="SeaBIOS text screen 720x400")
    qemu.stop()
    assert qemu.status() == "paused"
    a = qemu.screendump()
    time.sleep(1.5)  # longer than a cursor blink period: paused means no blink
    b = qemu.screendump()
    assert_same(b, a, artifacts, "fw-paused")
    assert img.size == a.size
    qemu.cont()
    assert qemu.status() == "running"
    qemu.quit()
    assert qemu.proc.returncode is not None


def test_qmp_fd_passing(session):
    """getfd only succeeds if an fd really arrived via SCM_RIGHTS; add_client then reports the
    documented bus-mode refusal, which proves the p2p path is wired (QMP side)."""
    qemu = Qemu(session, "qmp").start()
    r, w = os.pipe()
    try:
        qemu.execute("getfd", {"fdname": "probe"}, fds=[r])
        qemu.execute("closefd", {"fdname": "probe"})
    finally:
        os.close(r)
        os.close(w)
    with pytest.raises(QMPError, match="No file descriptor"):
        qemu.execute("getfd", {"fdname": "nofd"})
    with pytest.raises(QMPError, match="p2p"):
        qemu.add_dbus_client()


def test_p2p_mode_accepts_client(session):
    qemu = Qemu(session, "p2p", p2p=True).start()
    assert qemu.dbus_unique_name() is None, "p2p QEMU should not be on the bus"
    sock = qemu.add_dbus_client()
    sock.close()
    assert qemu.status() == "running"


def test_guest_pattern_mode(session, guest, artifacts):
    qemu = Qemu(session, "pattern", **guest.qemu_args("pattern")).start()
    sizes: list[tuple[int, int]] = []
    t0 = time.monotonic()

    def drawn() -> bool:
        img = qemu.screendump()
        if not sizes or sizes[-1] != img.size:
            sizes.append(img.size)
        return "VMCAST-GUEST: ready mode=pattern" in qemu.serial_text()
    wait_for(drawn, 120, 0.2, what="the guest to draw its pattern (serial marker)")
    boot_s = time.monotonic() - t0
    log = qemu.serial_text()
    assert "fb=1024,768 24 3072" in log, log[-2000:]
    qemu.stop()
    a = qemu.screendump()
    time.sleep(1)
    b = qemu.screendump()
    assert a.size == (1024, 768), f"sizes seen while booting: {sizes}"
    assert_same(b, a, artifacts, "pattern-paused")
    if guest.pattern is not None:
        assert_same(a, read_ppm(guest.pattern), artifacts, "pattern-vs-expected")
    print(f"pattern guest ready after {boot_s:.1f}s; sizes seen: {sizes}")


def test_guest_noise_mode(session, guest, artifacts):
    qemu = Qemu(session, "noise", **guest.qemu_args("noise")).start()
    qemu.wait_serial("VMCAST-GUEST: ready mode=noise", 120)
    a = qemu.screendump()
    b = wait_for(lambda: (lambda i: i if i.rgb != a.rgb else None)(qemu.screendump()), 20, 0.5,
                 what="the noise guest to change the screen")
    assert a.size == b.size == (1024, 768)
    assert compare(a, b).differing_pixels > 1000


def test_guest_shell_mode(session, guest):
    qemu = Qemu(session, "shell", **guest.qemu_args("shell")).start()
    qemu.wait_serial("VMCAST-GUEST: ready mode=shell", 120)
    before = qemu.wait_screen_drawn(20)
    # Typing changes the console: keys go through QEMU's PS/2 keyboard to the fbcon shell.
    for key in ("e", "c", "h", "o", "spc", "h", "i"):
        qemu.execute("send-key", {"keys": [{"type": "qcode", "data": key}]})
    wait_for(lambda: compare(qemu.screendump(), before).differing_pixels > 20, 20, 0.5,
             what="typed keys to appear on the guest console")


# -- image readers against real encoders --------------------------------------------------------

@pytest.mark.parametrize("fmt", ["RGB", "RGBA"])
def test_read_png_matches_gstreamer_raw(tmp_path, fmt):
    """libpng (via GStreamer pngenc) picks filters adaptively, so a busy picture exercises the
    filter types; the decoded pixels must equal the raw frame of the same picture."""
    caps = f"video/x-raw,format={fmt},width=97,height=61"
    for out, enc in (("raw", []), ("png", ["pngenc", "!"])):
        subprocess.run(["gst-launch-1.0", "-q", "videotestsrc", "num-buffers=1", "pattern=pinwheel",
                        "!", caps, "!", *enc, "filesink", f"location={tmp_path / out}"],
                       check=True, timeout=60)
    raw = (tmp_path / "raw").read_bytes()
    bpp = len(fmt)
    stride = (97 * bpp + 3) & ~3  # GStreamer rounds raw video rows up to 4 bytes
    rows = b"".join(raw[y * stride:y * stride + 97 * bpp] for y in range(61))
    if fmt == "RGB":
        expected = Image(97, 61, rows)
    else:
        expected = Image(97, 61, b"".join(rows[i:i + 3] for i in range(0, len(rows), 4)))
    got = read_png(tmp_path / "png")
    assert got.size == (97, 61)
    assert compare(got, expected).equal, compare(got, expected).describe(got, expected)
    data = (tmp_path / "png").read_bytes()
    assert data.count(b"IDAT") >= 1 and zlib.crc32(data) != 0


def test_read_vmcast_frame(tmp_path):
    path = tmp_path / "frame"
    pixels = bytes([10, 20, 30, 255, 40, 50, 60, 0])  # B,G,R,x for a 2x1 picture
    path.write_bytes(b"VMCASTFRAME 2 1 BGRx 7\n" + pixels)
    img = read_vmcast_frame(path)
    assert img.header == {"width": 2, "height": 1, "format": "BGRx", "seq": 7}
    assert img.rgb == bytes([30, 20, 10, 60, 50, 40])
    path.write_bytes(b"VMCASTFRAME 2 1 BGRA 8\n" + pixels)
    img = read_vmcast_frame(path)
    assert img.header["seq"] == 8 and img.alpha == bytes([255, 0])
