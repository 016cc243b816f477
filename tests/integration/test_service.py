"""`vmcast run` as a service (real QEMU 7.2 without a guest, real PipeWire and WirePlumber): it
tells systemd when it is ready, reloads its config file on SIGHUP, and keeps the page's tokens
across restarts.

  NOTIFY_SOCKET   READY=1 once the bus is watched; RELOADING=1 ... READY=1 around a reload;
                  STOPPING=1 when it stops.
  SIGHUP          reads --config FILE again: [vms] names changes which VMs have nodes; a bad
                  file changes nothing (one warning line); the command line still wins.
  --web without --web-token-file
                  the tokens are kept in $XDG_STATE_HOME/vmcast/web-tokens (0600, in a 0700
                  directory): a restarted vmcast prints the same addresses, which still open.
"""
from __future__ import annotations

import os
import signal
import socket
import stat
import subprocess
import time
from pathlib import Path

from test_real_qemu import Vmcast, node_name
from vmcast_testlib import Qemu, free_port, wait_for
from web_page import http_status

APPEAR_TIMEOUT = 30


class NotifySocket:
    """The socket systemd would give a Type=notify service: what vmcast says arrives here."""

    def __init__(self, path: Path):
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))
        self.messages: list[str] = []

    def wait(self, state: str, vmcast: Vmcast | Spawned, timeout: float = 30) -> list[str]:
        """Every message up to the first that says state (e.g. READY=1)."""
        deadline = time.monotonic() + timeout
        seen = []
        while True:
            left = deadline - time.monotonic()
            assert left > 0, f"no {state} within {timeout}s (got {seen})\n{vmcast.logs()}"
            self.sock.settimeout(min(left, 1.0))
            try:
                data = self.sock.recv(4096).decode()
            except socket.timeout:
                # Only once what it sent before it exited has been read.
                assert vmcast.proc.poll() is None, \
                    f"vmcast exited ({vmcast.proc.returncode}) before {state}\n{vmcast.logs()}"
                continue
            seen.append(data)
            if state in data.split("\n"):
                return seen

    def close(self) -> None:
        self.sock.close()


class Spawned:
    """A vmcast started some other way than Vmcast, seen the same way by the helpers here."""

    def __init__(self, proc: subprocess.Popen, stderr: Path):
        self.proc = proc
        self.stderr = stderr

    def logs(self) -> str:
        return self.stderr.read_text()


def start(session, vmcast_bin, tmp_path, *args: str) -> tuple[Vmcast, NotifySocket]:
    notify = NotifySocket(tmp_path / "notify")
    vmcast = Vmcast(session, vmcast_bin, *args, env={"NOTIFY_SOCKET": str(notify.path)})
    return vmcast, notify


def reload(vmcast: Vmcast | Spawned, notify: NotifySocket) -> None:
    vmcast.proc.send_signal(signal.SIGHUP)
    seen = notify.wait("READY=1", vmcast)
    assert any(m.startswith("RELOADING=1\nMONOTONIC_USEC=") for m in seen), seen


def test_ready_reload_and_stopping_reach_systemd(vmcast_bin, session, tmp_path):
    vmcast, notify = start(session, vmcast_bin, tmp_path)
    try:
        assert notify.wait("READY=1", vmcast) == ["READY=1"]
        # READY=1 means the bus is watched: a VM that starts now is streamed.
        qemu = Qemu(session, "ready").start()
        vmcast.wait_node(node_name(qemu.name), APPEAR_TIMEOUT)
        reload(vmcast, notify)
        vmcast.proc.send_signal(signal.SIGTERM)
        notify.wait("STOPPING=1", vmcast)
        assert vmcast.proc.wait(timeout=15) == 0, vmcast.logs()
    finally:
        notify.close()


def journal_entries(sock: socket.socket) -> list[dict]:
    """The entries sent to the journal's socket so far (journald's native protocol, in its
    KEY=value form, which GLib uses for one-line values)."""
    entries = []
    sock.settimeout(0.5)
    try:
        while True:
            data = sock.recv(65536).decode(errors="replace")
            entries.append(dict(line.split("=", 1) for line in data.splitlines() if "=" in line))
    except socket.timeout:
        return entries


def test_logs_reach_the_journal_with_their_priority(vmcast_bin, session, tmp_path):
    """Run by systemd, stderr is the journal ($JOURNAL_STREAM names it): messages go to
    journald's socket, each with its priority. The socket is the test's, mounted where journald's
    is in a mount namespace of vmcast's own."""
    journal = tmp_path / "journal"
    journal.mkdir()
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(journal / "socket"))
    config = tmp_path / "vmcast.conf"
    config.write_text("[stream]\nmax-fps=30\n")
    notify = NotifySocket(tmp_path / "notify")
    stderr_path = tmp_path / "stderr.log"
    with open(stderr_path, "wb") as stderr:
        info = os.fstat(stderr.fileno())
        namespace = ["unshare", "--mount"] if os.getuid() == 0 else \
            ["unshare", "--user", "--map-root-user", "--mount"]
        script = ("mount -t tmpfs tmpfs /run && mkdir -p /run/systemd/journal && "
                  f"mount --bind {journal} /run/systemd/journal && exec \"$0\" \"$@\"")
        proc = session.spawn([*namespace, "sh", "-c", script, str(vmcast_bin), "--config",
                              str(config), "run"], name="vmcast", stderr=stderr,
                             env={"JOURNAL_STREAM": f"{info.st_dev}:{info.st_ino}",
                                  "NOTIFY_SOCKET": str(notify.path)})
    vmcast = Spawned(proc, stderr_path)
    try:
        notify.wait("READY=1", vmcast)
        config.write_text("[stream]\nmax-fps=fast\n")
        reload(vmcast, notify)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0, stderr_path.read_text()
    finally:
        notify.close()
    entries = journal_entries(sock)
    sock.close()
    by_message = {e.get("MESSAGE"): e for e in entries}
    following = by_message.get("following the VMs on the session bus")
    assert following and following["PRIORITY"] == "5" and following["GLIB_DOMAIN"] == "vmcast", \
        entries
    bad = f'reload: {config}: [stream] max-fps: expected frames a second from 1 to 1000, got ' \
          f'"fast"; the running settings stay'
    assert by_message.get(bad, {}).get("PRIORITY") == "4", entries
    assert "following the VMs" not in stderr_path.read_text(), "logged twice"


def wait_gone(session, name: str, vmcast: Vmcast) -> None:
    try:
        wait_for(lambda: session.find_node(name) is None, 15, 0.2,
                 what=f"PipeWire node {name} going away")
    except AssertionError as exc:
        raise AssertionError(f"{exc}\nvmcast stderr:\n{vmcast.logs()}") from None


def test_sighup_changes_the_vms_streamed(vmcast_bin, session, tmp_path):
    config = tmp_path / "vmcast.conf"
    config.write_text("[vms]\nnames=alpha;\n")
    alpha = Qemu(session, "alpha").start()
    beta = Qemu(session, "beta").start()
    vmcast, notify = start(session, vmcast_bin, tmp_path, "--config", str(config))
    try:
        notify.wait("READY=1", vmcast)
        vmcast.wait_node(node_name(alpha.name), APPEAR_TIMEOUT)
        assert session.find_node(node_name(beta.name)) is None, "beta is not in [vms] names"

        # beta is wanted instead of alpha: alpha's node goes, beta (already running) gets one.
        config.write_text("[vms]\nnames=beta;\n")
        reload(vmcast, notify)
        vmcast.wait_node(node_name(beta.name), APPEAR_TIMEOUT)
        wait_gone(session, node_name(alpha.name), vmcast)

        # A bad file changes nothing and says why in one line; a setting that needs a restart
        # says so.
        stderr = session.log_path(vmcast.proc.log_name, "stderr")
        config.write_text("[vms]\nnames=alpha;\n[web]\nbitrate=fast\n")
        reload(vmcast, notify)
        assert (f'reload: {config}: [web] bitrate: expected kbit/s from 100 to 100000, got '
                f'"fast"; the running settings stay') in stderr.read_text()
        config.write_text("[vms]\nnames=beta;alpha;\n[stream]\nmax-fps=30\n")
        reload(vmcast, notify)
        vmcast.wait_node(node_name(alpha.name), APPEAR_TIMEOUT)
        assert session.find_node(node_name(beta.name)) is not None, "beta lost its node"
        assert "reload: [stream] max-fps changed; they take effect when vmcast restarts" in \
            stderr.read_text()
        assert vmcast.stop() == 0
    finally:
        notify.close()


def test_sighup_keeps_the_command_lines_vms(vmcast_bin, session, tmp_path):
    config = tmp_path / "vmcast.conf"
    config.write_text("[vms]\nnames=beta;\n")
    alpha = Qemu(session, "alpha").start()
    beta = Qemu(session, "beta").start()
    # With the page, each VM streamed prints its address before vmcast says READY=1 again.
    vmcast, notify = start(session, vmcast_bin, tmp_path, "--config", str(config), "--vm",
                           "alpha", "--web", f"127.0.0.1:{free_port()}")
    try:
        notify.wait("READY=1", vmcast)
        vmcast.wait_node(node_name(alpha.name), APPEAR_TIMEOUT)
        printed_addresses(session, vmcast, alpha.name)
        config.write_text("[vms]\nnames=beta;\n[stream]\ncursor=hidden\n")
        reload(vmcast, notify)
        # --vm alpha still wins over the file's beta.
        stdout = session.log_path(vmcast.proc.log_name, "stdout").read_text()
        assert "vmcast: watch VM 'beta'" not in stdout, stdout
        assert session.find_node(node_name(beta.name)) is None, vmcast.logs()
        assert session.find_node(node_name(alpha.name)) is not None, vmcast.logs()
        assert vmcast.stop() == 0
    finally:
        notify.close()


def printed_addresses(session, vmcast: Vmcast, vm: str) -> tuple[str, str]:
    """The last full-access and view-only addresses vmcast printed for the VM."""
    stdout = session.log_path(vmcast.proc.log_name, "stdout")

    def addresses():
        lines = stdout.read_text().splitlines()
        full = [l for l in lines if l.startswith(f"vmcast: watch VM '{vm}' at ")]
        view = [l for l in lines if l.startswith("vmcast: view only: ")]
        return (full[-1].split(" at ", 1)[1], view[-1].split(": ", 2)[2]) if full else None
    return wait_for(addresses, APPEAR_TIMEOUT, 0.3, what=f"the addresses of VM {vm}")


def token_of(url: str) -> str:
    return url.split("token=", 1)[1]


def assert_admitted(url: str, port: int, vm: str) -> None:
    """The page opens, and its WebSocket lets the page's token in (204 to a plain request)."""
    assert http_status(url)[0] == 200, url
    ws = f"http://127.0.0.1:{port}/ws?vm={vm}&token={token_of(url)}"
    status = wait_for(lambda: (lambda s: s if s != 503 else None)(http_status(ws)[0]), 30,
                      what="the VM on the page")
    assert status == 204, f"{ws}: {status}"


def test_page_tokens_survive_a_restart(vmcast_bin, session, tmp_path):
    qemu = Qemu(session, "keep").start()
    port = free_port()
    args = ("--web", f"127.0.0.1:{port}")
    vmcast = Vmcast(session, vmcast_bin, *args)
    full, view = printed_addresses(session, vmcast, qemu.name)
    assert_admitted(full, port, qemu.name)
    assert vmcast.stop() == 0

    state = Path(session.env["XDG_STATE_HOME"]) / "vmcast"
    tokens = state / "web-tokens"
    assert stat.S_IMODE(state.stat().st_mode) == 0o700
    assert stat.S_IMODE(tokens.stat().st_mode) == 0o600
    assert tokens.read_text() == f"{token_of(full)}\n{token_of(view)}\n"

    again = Vmcast(session, vmcast_bin, *args)
    assert printed_addresses(session, again, qemu.name) == (full, view)
    assert_admitted(full, port, qemu.name)
    assert_admitted(view, port, qemu.name)
    wrong = f"http://127.0.0.1:{port}/ws?vm={qemu.name}&token=wrong-token-0000000000"
    assert http_status(wrong)[0] == 403

    # Removing the kept tokens and reloading makes new ones: the old addresses stop working.
    tokens.unlink()
    again.proc.send_signal(signal.SIGHUP)
    new_full, new_view = wait_for(
        lambda: (lambda a: a if a[0] != full else None)(printed_addresses(session, again,
                                                                          qemu.name)),
        30, 0.3, what="new addresses after the reload")
    assert new_view != view
    assert_admitted(new_full, port, qemu.name)
    old = f"http://127.0.0.1:{port}/ws?vm={qemu.name}&token={token_of(full)}"
    assert http_status(old)[0] == 403
    assert again.stop() == 0


def test_kept_tokens_others_may_read_are_refused(vmcast_bin, session, tmp_path):
    state = Path(session.env["XDG_STATE_HOME"]) / "vmcast"
    state.mkdir(parents=True, mode=0o700)
    tokens = state / "web-tokens"
    tokens.write_text("full-access-token-0123456789\nview-only-token-9876543210\n")
    tokens.chmod(0o644)
    res = subprocess.run([str(vmcast_bin), "run", "--web", f"127.0.0.1:{free_port()}"],
                         env=session.env, capture_output=True, text=True, timeout=60)
    assert res.returncode == 1, res.stderr
    assert res.stderr == (f"vmcast: {tokens} must be a file of vmcast's user that only it may "
                          "read (mode 0600); fix it, or remove it for new tokens\n"), res.stderr
    os.chmod(tokens, 0o600)
    tokens.write_text("not a token\n")
    res = subprocess.run([str(vmcast_bin), "run", "--web", f"127.0.0.1:{free_port()}"],
                         env=session.env, capture_output=True, text=True, timeout=60)
    assert res.returncode == 1 and str(tokens) in res.stderr, res.stderr
    assert res.stderr.count("\n") == 1, res.stderr
