"""vmcast in p2p mode against real QEMU 7.2 (`-display dbus,p2p=yes`): no bus at all, vmcast hands
QEMU one end of a socket pair over QMP (getfd + add_client @dbus-display) and speaks D-Bus
peer-to-peer on the other.

CLI contract under test:
  vmcast run|list|screenshot --qmp SOCKET   as in bus mode, over the p2p connection
  --qmp with --address                      usage error (exit 2)
  --qmp errors (no socket, not QMP, QEMU in bus mode, silent monitor): one line, exit 1, no hang
  QEMU exiting: `vmcast run` removes the node and connects again when a QEMU is back on the same
      QMP socket (same node name); another client taking over with add_client: vmcast takes the
      display back once that client is done

QEMU gets two monitors: the harness keeps its own QMP connection (screendump, stop), and vmcast
connects to a second one, since a QMP monitor serves one client at a time.
"""
from __future__ import annotations

import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from vmcast_testlib import Qemu, compare, free_port, read_png, tail, wait_for
from test_real_qemu import assert_gets_a_picture
from vmcast_testlib.consumer import FrameConsumer

NODE_TIMEOUT = 30
MATCH_TIMEOUT = 20
ERROR_TIMEOUT = 45   # every --qmp failure must end well within this (vmcast waits at most 10 s)


def vmcast_qmp_path(session, name: str) -> Path:
    return Path(session.tmpdir) / f"vmcast-qmp-{name}.sock"


def start_qemu(session, name: str, *, p2p: bool = True) -> tuple[Qemu, Path]:
    """QEMU on its firmware text screen, with a second QMP monitor for vmcast."""
    qmp_path = vmcast_qmp_path(session, name)
    monitor = ["-chardev", f"socket,id=vmcast-qmp,path={qmp_path},server=on,wait=off",
               "-mon", "chardev=vmcast-qmp,mode=control"]
    qemu = Qemu(session, name, p2p=p2p, extra_args=monitor).start()
    return qemu, qmp_path


def wait_text_screen(qemu: Qemu) -> None:
    wait_for(lambda: qemu.screendump().size == (720, 400), 60, 0.5,
             what="SeaBIOS text mode (720x400)")


class VmcastRun:
    """`vmcast run --qmp SOCKET --verbose` as a tracked subprocess of the session."""

    def __init__(self, session, binary: Path, qmp_path: Path, extra_args: tuple[str, ...] = ()):
        self.session = session
        self.proc = session.spawn([str(binary), "run", "--qmp", str(qmp_path), "--verbose",
                                   *extra_args], name="vmcast")

    def logs(self) -> str:
        return tail(self.session.log_path(self.proc.log_name, "stderr"))

    def wait_node(self, name: str) -> dict:
        def node():
            if self.proc.poll() is not None:
                raise AssertionError(f"vmcast exited ({self.proc.returncode}) before creating "
                                     f"{name}:\n{self.logs()}")
            return self.session.find_node(name)
        return wait_for(node, NODE_TIMEOUT, 0.3, what=f"PipeWire node {name}")

    def wait_exit(self, timeout: float, what: str) -> int:
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            pytest.fail(f"vmcast kept running after {what}\n{self.logs()}")


def expect_one_line_error(session, argv: list[str], what: str, rc: int = 1) -> str:
    try:
        res = session.run(argv, timeout=ERROR_TIMEOUT)
    except subprocess.TimeoutExpired:
        pytest.fail(f"{what}: `{' '.join(argv)}` hung instead of failing")
    lines = [line for line in res.stderr.splitlines() if line.strip()]
    assert res.returncode == rc, f"{what}: exit {res.returncode}, expected {rc}\n{res.stderr}"
    assert len(lines) == 1, f"{what}: expected a one-line error, got:\n{res.stderr}"
    print(f"{what}: {lines[0]}")
    return lines[0]


# -- streaming ------------------------------------------------------------------------------------

def assert_stream_matches(session, qemu: Qemu, node: str, tmp_path, artifacts,
                          label: str) -> None:
    """A new consumer of the node gets QEMU's picture (the VM paused, compared with screendump)."""
    consumer = FrameConsumer(session, node, tmp_path / f"{label}.frame")
    try:
        consumer.wait_pictures(1, timeout=30)
        qemu.stop()
        expected = qemu.screendump()
        last = {}

        def matches() -> bool:
            last["img"] = consumer.latest_image()
            return compare(last["img"], expected).equal
        failure = None
        try:
            wait_for(matches, MATCH_TIMEOUT, 0.25, what=f"{label}: stream frame == screendump")
        except AssertionError as exc:
            failure = str(exc)  # fail outside the except block: one clean traceback
        if failure:
            saved = [artifacts.save_image(f"{label}-screendump", expected)]
            if "img" in last:
                saved.append(artifacts.save_image(f"{label}-stream", last["img"]))
                failure += f"; {compare(last['img'], expected).describe(last['img'], expected)}"
            pytest.fail(f"{failure}; saved {saved}")
        assert expected.size == (720, 400) and not expected.is_uniform()
        consumer.assert_no_bad_buffers()
    finally:
        consumer.stop()
        qemu.cont()


def test_p2p_stream_equals_screendump(vmcast_bin, consumer_bin, session, tmp_path, artifacts):
    qemu, qmp_path = start_qemu(session, "p2pfw")
    wait_text_screen(qemu)
    vmcast = VmcastRun(session, vmcast_bin, qmp_path)
    node = vmcast.wait_node("vmcast.p2pfw.0")
    assert node["info"]["props"].get("media.class") == "Video/Source"
    assert_stream_matches(session, qemu, "vmcast.p2pfw.0", tmp_path, artifacts, "p2p")
    vmcast.proc.send_signal(signal.SIGTERM)
    assert vmcast.wait_exit(15, "SIGTERM") == 0, vmcast.logs()


def test_p2p_vm_restart_is_followed(vmcast_bin, consumer_bin, session, tmp_path, artifacts):
    """The p2p connection closing is the VM going away: its node goes, and vmcast connects again
    when QEMU is back on the same QMP socket, under the same node name."""
    qemu, qmp_path = start_qemu(session, "p2pquit")
    vmcast = VmcastRun(session, vmcast_bin, qmp_path)
    vmcast.wait_node("vmcast.p2pquit.0")
    for restart in range(3):
        qemu.quit()
        wait_for(lambda: session.find_node("vmcast.p2pquit.0") is None, 15, 0.2,
                 what="the node going with QEMU")
        assert vmcast.proc.poll() is None, vmcast.logs()
        qemu, same_path = start_qemu(session, "p2pquit")
        assert same_path == qmp_path
        vmcast.wait_node("vmcast.p2pquit.0")
    wait_text_screen(qemu)
    assert_stream_matches(session, qemu, "vmcast.p2pquit.0", tmp_path, artifacts, "restarted")
    vmcast.proc.send_signal(signal.SIGTERM)
    assert vmcast.wait_exit(15, "SIGTERM") == 0, vmcast.logs()


def test_a_silent_monitor_while_qemu_is_away_leaves_vmcast_serving(vmcast_bin, session):
    """While QEMU is away, vmcast asks its QMP socket again every half second. A monitor that
    accepts and never answers (a SIGSTOPped QEMU, another client holding it) takes up to QMP's
    10 s each time, and that wait must not stall the loop: the page keeps answering meanwhile,
    and a QEMU back on the socket is connected to."""
    qemu, qmp_path = start_qemu(session, "p2psilent")
    port = free_port()
    vmcast = VmcastRun(session, vmcast_bin, qmp_path, ("--web", f"127.0.0.1:{port}"))
    vmcast.wait_node("vmcast.p2psilent.0")
    qemu.quit()
    wait_for(lambda: session.find_node("vmcast.p2psilent.0") is None, 15, 0.2,
             what="the node going with QEMU")
    qmp_path.unlink(missing_ok=True)
    silent = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    silent.bind(str(qmp_path))
    silent.listen(64)  # connections wait in the backlog: connected, never greeted
    try:
        wait_for(lambda: "no answer on QMP socket" in vmcast.logs(), 30, 0.5,
                 what="vmcast giving up on the silent monitor once")
        # A whole wait on the monitor (10 s) and more, with the page asked all along: a loop
        # that waits on the monitor leaves one of these asks unanswered for over 5 s.
        deadline = time.monotonic() + 12
        while time.monotonic() < deadline:
            try:  # any answer will do (without the token it is 403)
                urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5).close()
            except urllib.error.HTTPError:
                pass
            except OSError as error:
                pytest.fail(f"the page did not answer while vmcast asked a silent monitor: "
                            f"{error}\n{vmcast.logs()}")
            time.sleep(0.5)
    finally:
        silent.close()
        qmp_path.unlink(missing_ok=True)
    qemu, _ = start_qemu(session, "p2psilent")
    vmcast.wait_node("vmcast.p2psilent.0")
    assert vmcast.proc.poll() is None, vmcast.logs()
    vmcast.proc.send_signal(signal.SIGTERM)
    assert vmcast.wait_exit(15, "SIGTERM") == 0, vmcast.logs()


def test_p2p_client_replaced_takes_the_display_back(vmcast_bin, consumer_bin, session):
    """QEMU serves one p2p client: a second add_client (here `vmcast list`) replaces the first;
    `vmcast run` connects again once that client is done, and streams on."""
    _, qmp_path = start_qemu(session, "p2prepl")
    vmcast = VmcastRun(session, vmcast_bin, qmp_path)
    vmcast.wait_node("vmcast.p2prepl.0")
    res = session.run([str(vmcast_bin), "list", "--qmp", str(qmp_path)], timeout=30)
    assert res.returncode == 0, res.stderr
    assert "p2prepl" in res.stdout, res.stdout
    vmcast.wait_node("vmcast.p2prepl.0")
    assert_gets_a_picture(session, "vmcast.p2prepl.0")
    assert vmcast.proc.poll() is None, vmcast.logs()


# -- one-shot commands ----------------------------------------------------------------------------

def test_p2p_list(vmcast_bin, session):
    _, qmp_path = start_qemu(session, "p2plist")
    res = session.run([str(vmcast_bin), "list", "--qmp", str(qmp_path)], timeout=30)
    assert res.returncode == 0, res.stderr
    assert "VM 'p2plist'" in res.stdout and "p2p" in res.stdout, res.stdout
    assert "console 0: VGA Graphic" in res.stdout, res.stdout
    assert "node vmcast.p2plist.0" in res.stdout, res.stdout
    # The monitor is free again afterwards: list hands over its client and disconnects.
    res = session.run([str(vmcast_bin), "list", "--qmp", str(qmp_path)], timeout=30)
    assert res.returncode == 0, res.stderr


def test_p2p_screenshot(vmcast_bin, session, tmp_path, artifacts):
    qemu, qmp_path = start_qemu(session, "p2pshot")
    wait_text_screen(qemu)
    qemu.stop()
    expected = qemu.screendump()
    out = tmp_path / "shot.png"
    res = session.run([str(vmcast_bin), "screenshot", "--qmp", str(qmp_path), str(out)],
                      timeout=60)
    assert res.returncode == 0, res.stderr
    got = read_png(out)
    cmp = compare(got, expected)
    if not cmp.equal:
        saved = [artifacts.save_image("screenshot", got),
                 artifacts.save_image("screendump", expected)]
        pytest.fail(f"screenshot != screendump: {cmp.describe(got, expected)}; saved {saved}")


# -- errors ---------------------------------------------------------------------------------------

def test_qmp_on_bus_mode_qemu(vmcast_bin, session):
    _, qmp_path = start_qemu(session, "busmode", p2p=False)
    line = expect_one_line_error(session, [str(vmcast_bin), "run", "--qmp", str(qmp_path)],
                                 "bus-mode QEMU")
    assert "p2p connections not accepted in bus mode" in line, line
    expect_one_line_error(session, [str(vmcast_bin), "list", "--qmp", str(qmp_path)],
                          "list on a bus-mode QEMU")


def test_qmp_socket_missing(vmcast_bin, session):
    missing = Path(session.tmpdir) / "no-such-qmp.sock"
    line = expect_one_line_error(session, [str(vmcast_bin), "run", "--qmp", str(missing)],
                                 "missing socket")
    assert str(missing) in line and "No such file" in line, line


def serve_once(path: Path, greeting: bytes | None) -> threading.Thread:
    """A unix socket that accepts one client, sends `greeting` (or nothing) and holds on."""
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    server.listen(1)

    def serve() -> None:
        with server:
            client, _ = server.accept()
            with client:
                if greeting is not None:
                    client.sendall(greeting)
                client.settimeout(30)
                try:
                    while client.recv(4096):
                        pass
                except OSError:
                    pass
    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return thread


@pytest.mark.parametrize("greeting", [b"QEMU 7.2.0 monitor - type 'help'\r\n(qemu) ", None],
                         ids=["not-qmp", "silent"])
def test_qmp_socket_not_qmp(vmcast_bin, session, greeting):
    path = Path(session.tmpdir) / "not-qmp.sock"
    serve_once(path, greeting)
    line = expect_one_line_error(session, [str(vmcast_bin), "run", "--qmp", str(path)],
                                 f"{'silent' if greeting is None else 'HMP'} socket")
    assert ("no answer" if greeting is None else "not a QMP") in line, line


def test_qmp_with_address_is_usage_error(vmcast_bin, session):
    line = expect_one_line_error(
        session, [str(vmcast_bin), "run", "--qmp", "/tmp/x.sock", "--address", "unix:path=/x"],
        "--qmp with --address", rc=2)
    assert "--qmp" in line, line
