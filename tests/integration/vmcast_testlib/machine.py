"""A real systemd booted as PID 1 of a container (systemd-nspawn) on this machine's own OS, for
tests of vmcast's systemd units: the test machines' own init is not systemd.

The container's root is an overlay of / whose writable layer is a tmpfs, mounted in a mount
namespace of its own: what the units, libvirt or `meson install` write there never reaches the
host. It has its own /run, its own network (loopback only) and, under a host without systemd,
cgroups of its own (a child cgroup, removed at close()); it runs cgroup v2 like a Debian 12 host.
Commands run in it with nsenter.

    with SystemdMachine(log_dir) as machine:
        machine.run("systemctl", "enable", "--now", "vmcast")
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

from .util import wait_for

BOOT_TIMEOUT = 120

# Run in a private mount namespace (unshare --mount): the overlay, a /run of its own so that
# nspawn writes nothing in the host's, a machine id of its own (the host's would make this a
# first boot of the same machine, and systemd would then enable every unit its presets name),
# then systemd-nspawn booting it, again when it reboots (nspawn exits 133 then). SIGTERM goes to
# nspawn: the first halts the container, a second ends it.
_BOOT_SCRIPT = r"""
set -e
dir=$1; shift
mount -t tmpfs -o mode=0755,size=4g vmcast-machine "$dir/rw"
mkdir "$dir/rw/upper" "$dir/rw/work"
mount -t overlay vmcast-machine \
    -o "lowerdir=/,upperdir=$dir/rw/upper,workdir=$dir/rw/work" "$dir/root"
mount -t tmpfs -o mode=0755 vmcast-machine-run /run
systemd-id128 new > "$dir/root/etc/machine-id"
trap 'kill -TERM "$nspawn" 2>/dev/null' TERM
while :; do
    systemd-nspawn --quiet --boot --directory="$dir/root" --machine=vmcast-test \
        --register=no --link-journal=no --private-network --console=pipe "$@" &
    nspawn=$!
    while :; do
        wait "$nspawn" && rc=0 || rc=$?
        kill -0 "$nspawn" 2>/dev/null || break  # else the trap ended the wait
    done
    [ "$rc" -eq 133 ] || exit "$rc"
done
"""


def _host_runs_systemd() -> bool:
    return Path("/run/systemd/system").is_dir()


def _cgroup_roots() -> list[Path]:
    """The hierarchies nspawn and systemd use: cgroup2's and, on a hybrid host, name=systemd's."""
    roots = []
    for path in (Path("/sys/fs/cgroup"), Path("/sys/fs/cgroup/unified"),
                 Path("/sys/fs/cgroup/systemd")):
        if (path / "cgroup.procs").exists():
            roots.append(path)
    return roots


class SystemdMachine:
    """A booted systemd container. Needs root, systemd-nspawn (systemd-container) and overlayfs."""

    def __init__(self, log_dir: Path, boot_args: tuple[str, ...] = ()):
        if os.geteuid() != 0:
            raise AssertionError("booting a systemd container needs root")
        if shutil.which("systemd-nspawn") is None:
            raise AssertionError("systemd-nspawn is missing (scripts/install-deps.sh installs "
                                 "systemd-container)")
        self.dir = Path(tempfile.mkdtemp(prefix="vmcast-machine-", dir="/var/tmp"))
        (self.dir / "rw").mkdir()
        (self.dir / "root").mkdir()
        self.log = log_dir / "nspawn.log"
        self.cgroups: list[Path] = []
        nspawn_args: list[str] = []
        env = dict(os.environ)
        # Debian 12 hosts run cgroup v2 only; with it libvirt needs no controller of its own.
        env["SYSTEMD_NSPAWN_UNIFIED_HIERARCHY"] = "1"
        if not _host_runs_systemd():
            # No systemd to make a scope for the container: a cgroup of its own, made here,
            # which nspawn keeps (--keep-unit).
            name = f"vmcast-machine-{os.getpid()}-{self.dir.name[-8:]}"
            for root in _cgroup_roots():
                (root / name).mkdir()
                self.cgroups.append(root / name)
            nspawn_args.append("--keep-unit")

        def enter_cgroups():
            for cgroup in self.cgroups:
                (cgroup / "cgroup.procs").write_text(str(os.getpid()))
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(
                ["unshare", "--mount", "--propagation", "private", "sh", "-c", _BOOT_SCRIPT,
                 "vmcast-machine", str(self.dir), *nspawn_args, *boot_args],
                stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=env,
                preexec_fn=enter_cgroups, start_new_session=True)
        self.leader = 0
        try:
            self._wait_booted()
        except BaseException:
            self.close()
            raise

    def _wait_booted(self) -> None:
        before = self.leader
        self.leader = wait_for(lambda: (lambda pid: pid if pid != before else None)(
            self._leader()), 60, 0.2, what="the container's systemd")
        # systemctl answers once systemd listens on its private socket.
        wait_for(lambda: self.path("/run/systemd/private").exists(), 60, 0.2,
                 what="the container's systemd listening")
        res = self.run("systemctl", "is-system-running", "--wait", check=False,
                       timeout=BOOT_TIMEOUT)
        if res.stdout.strip() not in ("running", "degraded"):
            raise AssertionError(f"the container booted to {res.stdout!r} {res.stderr!r}\n"
                                 f"{self.status()}")

    def reboot(self) -> None:
        """`systemctl reboot` in the container, back once it has booted again."""
        self.run("systemctl", "reboot", check=False)  # its connection may go with systemd
        self._wait_booted()

    def _leader(self) -> int | None:
        """The container's PID 1, seen from here: systemd, the child of nspawn."""
        assert self.proc.poll() is None, f"systemd-nspawn exited:\n{self.log.read_text()}"
        # unshare execs the boot script, whose child is systemd-nspawn.
        def child(parent: str, name: str) -> str | None:
            found = subprocess.run(["pgrep", "-P", parent, "-x", name],
                                   capture_output=True, text=True).stdout.split()
            return found[0] if found else None
        nspawn = child(str(self.proc.pid), "systemd-nspawn")
        systemd = nspawn and child(nspawn, "systemd")
        return int(systemd) if systemd else None

    def run(self, *argv: str, check: bool = True, timeout: float = 120, input: str | None = None,
            namespaces: tuple[str, ...] = ("--all",)) -> subprocess.CompletedProcess:
        """argv in the container (as root, in all its namespaces), with a plain environment."""
        env = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
               "LANG": "C.UTF-8", "HOME": "/root", "SYSTEMD_PAGER": "", "SYSTEMD_COLORS": "0"}
        res = subprocess.run(["nsenter", "--target", str(self.leader), *namespaces, "--", *argv],
                             capture_output=True, text=True, timeout=timeout, env=env,
                             input=input)
        if check and res.returncode != 0:
            raise AssertionError(f"in the container: {' '.join(argv)} exited {res.returncode}:\n"
                                 f"{res.stdout}{res.stderr}")
        return res

    def sh(self, script: str, **kw) -> subprocess.CompletedProcess:
        return self.run("sh", "-ec", script, **kw)

    def path(self, path: str) -> Path:
        """A path in the container's file system, from here."""
        return Path(f"/proc/{self.leader}/root") / path.lstrip("/")

    def status(self) -> str:
        """What systemd says went wrong, for failure messages."""
        res = self.run("systemctl", "--failed", "--no-legend", check=False)
        journal = self.run("journalctl", "--no-pager", "-b", "-n", "80", check=False)
        return f"failed units:\n{res.stdout}\njournal:\n{journal.stdout}"

    def close(self) -> None:
        if self.proc.poll() is None:
            # One SIGTERM halts the container (systemd stops its units); a second one ends it.
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGTERM)
                try:
                    self.proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                    self.proc.wait()
        # The mount namespace (overlay and tmpfs) went with its last process. What is left in
        # the container's cgroups is the container's: end it, then remove them.
        for cgroup in self.cgroups:
            self._remove_cgroup(cgroup)
        shutil.rmtree(self.dir, ignore_errors=True)

    @staticmethod
    def _remove_cgroup(cgroup: Path) -> None:
        if not cgroup.exists():
            return
        for attempt in range(50):
            pids = [int(p) for procs in cgroup.rglob("cgroup.procs")
                    for p in procs.read_text().split()]
            if not pids:
                break
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            time.sleep(0.1)
        for child in sorted((p for p in cgroup.rglob("*") if p.is_dir()),
                            key=lambda p: len(p.parts), reverse=True):
            child.rmdir()
        cgroup.rmdir()

    def __enter__(self) -> "SystemdMachine":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
