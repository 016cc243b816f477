"""A real libvirt daemon (qemu:///system, as root) and TCG domains with <graphics type='dbus'/>
that boot the test guest. The daemon already running is used; otherwise virtlogd and libvirtd
are started for the test run and stopped after it."""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path

from .images import Image, read_png, read_ppm
from .util import wait_for

URI = "qemu:///system"


def virsh(*args: str, check: bool = True, timeout: float = 60) -> subprocess.CompletedProcess:
    res = subprocess.run(["virsh", "-c", URI, *args], capture_output=True, text=True,
                         timeout=timeout)
    if check and res.returncode != 0:
        raise AssertionError(f"virsh {' '.join(args)} failed: {res.stderr.strip()}")
    return res


def reachable() -> bool:
    return virsh("version", check=False, timeout=10).returncode == 0


def domain_xml(name: str, guest_dir: Path | str, cmdline: str, p2p: bool = True) -> str:
    """A TCG domain booting the test guest (vmlinuz and initrd.img in guest_dir, which QEMU's
    user must be able to read), its display on D-Bus: libvirt's own bus of the domain, or p2p."""
    graphics = "<graphics type='dbus' p2p='yes'/>" if p2p else "<graphics type='dbus'/>"
    return f"""<domain type='qemu'>
  <name>{name}</name>
  <uuid>{uuid.uuid4()}</uuid>
  <memory unit='MiB'>256</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <kernel>{guest_dir}/vmlinuz</kernel>
    <initrd>{guest_dir}/initrd.img</initrd>
    <cmdline>{cmdline}</cmdline>
  </os>
  <on_reboot>restart</on_reboot>
  <devices>
    {graphics}
    <video><model type='vga'/></video>
  </devices>
</domain>
"""


class Libvirtd:
    """qemu:///system for the tests. Needs root, like any system libvirt daemon."""

    def __init__(self, log_dir: Path):
        if os.geteuid() != 0:
            raise AssertionError("the libvirt tests run a system libvirt daemon: run them as root")
        for tool in ("virsh", "libvirtd", "virtlogd"):
            if shutil.which(tool) is None and not Path(f"/usr/sbin/{tool}").exists():
                raise AssertionError(f"{tool} is missing (scripts/install-deps.sh installs it)")
        self.procs: list[subprocess.Popen] = []
        if reachable():
            return
        # Without polkit (which needs a system bus this machine may not run), what polkit's
        # default rules give on a host: read-only access for every user, read-write for the
        # libvirt group.
        config = log_dir / "libvirtd.conf"
        config.write_text('auth_unix_ro = "none"\nauth_unix_rw = "none"\n'
                          'unix_sock_group = "libvirt"\nunix_sock_rw_perms = "0770"\n')
        for argv in (["/usr/sbin/virtlogd"], ["/usr/sbin/libvirtd", "-f", str(config)]):
            log = open(log_dir / f"{Path(argv[0]).name}.log", "wb")
            self.procs.append(subprocess.Popen(argv, stdout=log, stderr=log,
                                               stdin=subprocess.DEVNULL,
                                               start_new_session=True))
            log.close()
        wait_for(reachable, 30, 0.3, what="libvirtd answering on qemu:///system")

    def close(self) -> None:
        for proc in reversed(self.procs):
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


class Domain:
    """A transient-free (defined) domain booting the test guest; undefined by close()."""

    def __init__(self, name: str, guest, mode: str = "pattern", p2p: bool = True):
        self.name = name
        # QEMU runs as libvirt's qemu user: the guest's files must be where it can read them.
        self.dir = Path(tempfile.mkdtemp(prefix=f"vmcast-{name}-", dir="/var/tmp"))
        os.chmod(self.dir, 0o755)
        for part in ("vmlinuz", "initrd.img"):
            shutil.copy(Path(guest.dir) / part, self.dir / part)
            os.chmod(self.dir / part, 0o644)
        xml = domain_xml(name, self.dir, guest.append(mode), p2p)
        (self.dir / "domain.xml").write_text(xml)
        virsh("define", str(self.dir / "domain.xml"))

    def start(self) -> "Domain":
        virsh("start", self.name)
        return self

    def destroy(self) -> None:
        virsh("destroy", self.name)

    def suspend(self) -> None:
        virsh("suspend", self.name)

    def resume(self) -> None:
        virsh("resume", self.name)

    def screenshot(self) -> Image:
        """What QEMU shows: libvirt's screenshot is QMP screendump (PNG where QEMU offers it,
        as 7.2 does; PPM otherwise), handed to the client."""
        path = self.dir / "screendump"
        virsh("screenshot", self.name, str(path))
        return read_png(path) if path.read_bytes()[:4] == b"\x89PNG" else read_ppm(path)

    def close(self) -> None:
        virsh("destroy", self.name, check=False)
        virsh("undefine", self.name, check=False)
        shutil.rmtree(self.dir, ignore_errors=True)
