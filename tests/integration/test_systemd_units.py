"""vmcast's systemd units under a real systemd: this machine's own OS booted in a container
(systemd as PID 1, vmcast_testlib/machine.py), with its libvirtd, polkit and journald, vmcast
installed into it with `meson install`, then used the way README.md's "Running as a service"
says.

  system unit   `systemctl enable --now vmcast` with /etc/vmcast/vmcast.conf saying [web] listen:
      the journal has the page's address; the page's list (/vms) shows a domain with
      <graphics type='dbus'/> running, and a consumer of its node (as libvirt-qemu, with
      PIPEWIRE_RUNTIME_DIR=/run/vmcast) gets what QEMU shows; `virsh destroy` and `virsh start`
      are followed; after `systemctl restart vmcast-pipewire`, and after PipeWire crashes
      (systemd starts it and WirePlumber again), the same vmcast shows the picture again;
      `systemctl reload vmcast` reloads the file in the same process;
      `systemctl stop vmcast` stops the four units, each with success. Enabled, it starts
      with the host (the container rebooted), its page's address the same.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from test_real_qemu import node_name
from vmcast_testlib import compare, read_png, read_ppm, read_vmcast_frame, wait_for
from vmcast_testlib.libvirt import domain_xml
from vmcast_testlib.machine import SystemdMachine

BOOT_TIMEOUT = 180  # the guest's kernel under TCG on two busy cores
PORT = 8081  # the README's; the container has a network of its own
UNITS = ["vmcast.service", "vmcast-pipewire.service", "vmcast-wireplumber.service",
         "vmcast-session-bus.service"]
TOOLS = "/usr/local/libexec/vmcast-test"  # the test's consumer, where libvirt-qemu may run it


def env_path(name: str) -> Path:
    value = os.environ.get(name)
    assert value, f"{name} is not set: run this test through `meson test`"
    return Path(value)


@pytest.fixture(scope="module")
def machine(tmp_path_factory):
    with SystemdMachine(tmp_path_factory.mktemp("machine")) as booted:
        yield booted
        # libvirt-guests would wait for running domains to shut down when the container halts.
        booted.sh("for d in $(virsh -c qemu:///system list --name); do "
                  "virsh -c qemu:///system destroy $d; done", check=False)


@pytest.fixture(scope="module")
def installed(machine, consumer_bin):
    """vmcast installed into the container as a host would: meson install, and the test's
    consumer beside it."""
    build = env_path("VMCAST_BUILD_ROOT")
    res = subprocess.run(["meson", "install", "-C", str(build), "--no-rebuild", "--quiet",
                          "--destdir", str(machine.path("/"))],
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stdout + res.stderr
    tools = machine.path(TOOLS)
    tools.mkdir(parents=True)
    shutil.copy(consumer_bin, tools / "vmcast-frame-consumer")
    os.chmod(tools, 0o755)
    bindir = env_path("VMCAST_INSTALL_BINDIR")
    unit = machine.run("systemctl", "cat", "vmcast.service", check=False)
    assert unit.returncode == 0, \
        f"systemd does not find the installed vmcast.service (prefix {bindir.parent}?):\n" \
        f"{unit.stderr}"
    assert f"{bindir}/vmcast" in unit.stdout, unit.stdout
    return machine


class LibvirtDomain:
    """A domain defined in the container's libvirt, booting the test guest."""

    def __init__(self, machine: SystemdMachine, name: str, guest, p2p: bool = False):
        self.machine = machine
        self.name = name
        self.dir = f"/var/tmp/vmcast-{name}"
        here = machine.path(self.dir)
        here.mkdir(mode=0o755)
        os.chmod(here, 0o755)
        for part in ("vmlinuz", "initrd.img"):
            shutil.copy(Path(guest.dir) / part, here / part)
            os.chmod(here / part, 0o644)
        (here / "domain.xml").write_text(domain_xml(name, self.dir, guest.append("pattern"), p2p))
        self.virsh("define", f"{self.dir}/domain.xml")

    def virsh(self, *args: str, check: bool = True):
        return self.machine.run("virsh", "-c", "qemu:///system", *args, check=check)

    def screenshot(self):
        self.virsh("screenshot", self.name, f"{self.dir}/screendump")
        path = self.machine.path(f"{self.dir}/screendump")
        return read_png(path) if path.read_bytes()[:4] == b"\x89PNG" else read_ppm(path)


class Page:
    """What a user of the page sees, from inside the container's network."""

    def __init__(self, machine: SystemdMachine, port: int = PORT):
        self.machine = machine
        self.port = port

    def addresses(self, *journal_args: str) -> list[str]:
        """Every 'VMs at' address in vmcast's journal, as README.md says to find it."""
        res = self.machine.run("journalctl", "-u", "vmcast", "--no-pager", "-o", "cat",
                               *journal_args)
        return [line.split(" at ", 1)[1] for line in res.stdout.splitlines()
                if line.startswith("vmcast: VMs at ")]

    def vms(self, token: str) -> list[dict] | None:
        """/vms?token= as JSON, or None while nothing answers on the port."""
        script = ("import sys, urllib.request\n"
                  "try:\n"
                  "    print(urllib.request.urlopen(sys.argv[1], timeout=10).read().decode())\n"
                  "except OSError as e:\n"
                  "    sys.exit(f'no answer: {e}')\n")
        res = self.machine.run("python3", "-c", script,
                               f"http://127.0.0.1:{self.port}/vms?token={token}", check=False)
        if res.returncode != 0:
            return None
        return json.loads(res.stdout)["vms"]

    def state(self, token: str, vm: str) -> str | None:
        vms = self.vms(token) or []
        return next((v["state"] for v in vms if v["name"] == vm), None)

    def wait_state(self, token: str, vm: str, state: str) -> None:
        try:
            wait_for(lambda: self.state(token, vm) == state, BOOT_TIMEOUT, 0.5,
                     what=f"the page listing {vm} {state}")
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n/vms: {self.vms(token)}\n{self.machine.status()}") \
                from None


def assert_picture(machine: SystemdMachine, domain: LibvirtDomain, artifacts, label: str):
    """A consumer of the domain's node, as libvirt-qemu with PIPEWIRE_RUNTIME_DIR=/run/vmcast
    (README), gets what QEMU shows: the guest's 1024x768 pattern, the domain paused so that both
    show the same moment."""
    wait_for(lambda: domain.screenshot().size == (1024, 768), BOOT_TIMEOUT, 1,
             what=f"{domain.name}: the guest's 1024x768 pattern")
    dump = f"/var/tmp/vmcast-{label}.frame"
    domain.virsh("suspend", domain.name)
    try:
        expected = domain.screenshot()
        last = {}

        def one_picture() -> bool:
            res = machine.run(
                "setpriv", "--reuid=libvirt-qemu", "--regid=kvm", "--init-groups", "env",
                "PIPEWIRE_RUNTIME_DIR=/run/vmcast", "XDG_RUNTIME_DIR=/run/vmcast",
                f"{TOOLS}/vmcast-frame-consumer", "--target", node_name(domain.name),
                "--format", "BGRx", "--dump-latest", dump, "--frames", "1", "--timeout", "20",
                check=False, timeout=60)
            last["res"] = res
            if res.returncode != 0:
                return False
            last["img"] = read_vmcast_frame(machine.path(dump))
            assert '"bad_buffers":0' in res.stdout, res.stdout
            return compare(last["img"], expected).equal
        try:
            wait_for(one_picture, 60, 0.5, what=f"{label}: the node's picture == libvirt's "
                     "screenshot")
        except AssertionError:
            artifacts.save_image(f"{label}-screenshot", expected)
            if "img" in last:
                artifacts.save_image(f"{label}-stream", last["img"])
            res = last.get("res")
            raise AssertionError(f"{label}: consumer: {res and res.stdout[-2000:]}"
                                 f"{res and res.stderr[-2000:]}\n{machine.status()}") from None
    finally:
        domain.virsh("resume", domain.name)


def main_pid(machine: SystemdMachine, unit: str = "vmcast") -> int:
    return int(machine.run("systemctl", "show", "-P", "MainPID", unit).stdout)


def active(machine: SystemdMachine) -> list[str]:
    return machine.run("systemctl", "is-active", *UNITS, check=False).stdout.split()


def wait_active(machine: SystemdMachine) -> None:
    try:
        wait_for(lambda: active(machine) == ["active"] * 4, 60, 0.3,
                 what="vmcast and its units active")
    except AssertionError as exc:
        raise AssertionError(f"{exc}: {active(machine)}\n{machine.status()}") from None


def test_system_unit_as_the_readme_says(installed, guest, artifacts):
    machine = installed
    # README: the config file with [web] listen, then daemon-reload and enable --now.
    machine.sh(f"mkdir -p /etc/vmcast && printf '[web]\\nlisten=0.0.0.0:{PORT}\\n' "
               "> /etc/vmcast/vmcast.conf")
    res = machine.sh("systemctl daemon-reload && systemctl enable --now vmcast")
    assert "multi-user.target.wants/vmcast.service" in res.stdout + res.stderr, res
    assert active(machine) == ["active"] * 4, machine.status()
    page = Page(machine)
    addresses = page.addresses()
    assert len(addresses) == 1 and addresses[0].startswith(f"http://127.0.0.1:{PORT}/?token="), \
        addresses
    token = addresses[0].split("token=", 1)[1]
    assert page.vms(token) == [], "no domain yet"
    assert page.vms("wrong-token-0000000000") is None, "/vms answers a wrong token"

    # A domain in libvirt's default form (its own bus, which admits only libvirt-qemu).
    domain = LibvirtDomain(machine, "vmcast-sd", guest)
    domain.virsh("start", domain.name)
    page.wait_state(token, domain.name, "running")
    assert_picture(machine, domain, artifacts, "started")

    domain.virsh("destroy", domain.name)
    page.wait_state(token, domain.name, "stopped")
    domain.virsh("start", domain.name)
    page.wait_state(token, domain.name, "running")
    assert_picture(machine, domain, artifacts, "started-again")

    # PipeWire restarted, then crashed (systemd starts it again): WirePlumber comes back with
    # it, and the same vmcast follows it, its page staying up.
    vmcast_pid = main_pid(machine)
    machine.run("systemctl", "restart", "vmcast-pipewire")
    wait_active(machine)
    assert_picture(machine, domain, artifacts, "pipewire-restarted")
    pipewire_pid = main_pid(machine, "vmcast-pipewire")
    machine.run("kill", "-SEGV", str(pipewire_pid))
    wait_for(lambda: main_pid(machine, "vmcast-pipewire") not in (0, pipewire_pid), 60, 0.3,
             what="systemd starting the crashed PipeWire again")
    wait_active(machine)
    assert_picture(machine, domain, artifacts, "pipewire-crashed")
    assert main_pid(machine) == vmcast_pid, "vmcast restarted instead of following PipeWire"
    assert page.addresses() == addresses
    assert page.state(token, domain.name) == "running"

    # reload: the same process reads the file again.
    pid = main_pid(machine)
    machine.run("systemctl", "reload", "vmcast")
    assert main_pid(machine) == pid
    journal = machine.run("journalctl", "-u", "vmcast", "--no-pager", "-o", "cat").stdout
    assert "reloaded /etc/vmcast/vmcast.conf" in journal, journal[-3000:]
    page.wait_state(token, domain.name, "running")

    # stop: vmcast and, being part of it, its PipeWire, WirePlumber and bus, each with success.
    machine.run("systemctl", "stop", "vmcast")
    assert active(machine) == ["inactive"] * 4, machine.status()
    results = machine.run("systemctl", "show", "-P", "Result", *UNITS).stdout.split()
    assert results == ["success"] * 4, (results, machine.status())
    assert page.vms(token) is None, "the page still answers"
    leftover = machine.run("find", "/run/vmcast", "-mindepth", "1").stdout
    assert leftover == "", leftover


def test_enabled_system_unit_starts_at_boot(installed, guest):
    """Enabled, vmcast starts with the host, and its page keeps its address."""
    machine = installed
    machine.sh(f"mkdir -p /etc/vmcast && printf '[web]\\nlisten=0.0.0.0:{PORT}\\n' "
               "> /etc/vmcast/vmcast.conf")
    machine.sh("systemctl daemon-reload && systemctl enable --now vmcast")
    page = Page(machine)
    address = page.addresses()[-1]
    machine.reboot()
    assert active(machine) == ["active"] * 4, machine.status()
    assert page.addresses("--boot") == [address], "a new page address after the reboot"
    token = address.split("token=", 1)[1]
    assert page.vms(token) == [], "a domain listed that has not run since the boot"
    domain = LibvirtDomain(machine, "vmcast-sd-boot", guest)
    domain.virsh("start", domain.name)
    page.wait_state(token, domain.name, "running")
    machine.run("systemctl", "stop", "vmcast")
    domain.virsh("destroy", domain.name)


def test_p2p_domains_and_polkit(installed, guest):
    """With Debian's libvirt, polkit decides who may use libvirt read-write, by the groups the
    user database gives the user: the unit's SupplementaryGroups=libvirt does not count. So
    vmcast reads libvirt only, and says why it cannot show a p2p domain; once libvirt-qemu is
    in the libvirt group (README, with what that costs), it shows it."""
    machine = installed
    domain = LibvirtDomain(machine, "vmcast-sd-p2p", guest, p2p=True)
    domain.virsh("start", domain.name)
    machine.run("systemctl", "start", "vmcast")
    token = Page(machine).addresses()[-1].split("token=", 1)[1]

    def journal() -> str:
        return machine.run("journalctl", "-u", "vmcast", "--no-pager", "-o", "cat",
                           f"_PID={main_pid(machine)}").stdout
    wait_for(lambda: "following libvirt's domains" in journal(), 60, 0.3,
             what="vmcast following libvirt")
    lines = journal().splitlines()
    assert any(line.startswith("libvirt at qemu:///system allows vmcast only to read") and
               "p2p='yes'" in line for line in lines), lines

    machine.run("usermod", "-aG", "libvirt", "libvirt-qemu")
    machine.run("systemctl", "restart", "vmcast")
    Page(machine).wait_state(token, domain.name, "running")
    assert "allows vmcast only to read" not in journal(), journal()
    machine.run("systemctl", "stop", "vmcast")
    domain.virsh("destroy", domain.name)


USER = "vmcast-user"
USER_PORT = 8082


class UserSession:
    """A user with lingering (README: "a user with lingering"): logind starts their systemd
    --user, with its session bus (dbus-user-session) and PipeWire, socket-activated."""

    def __init__(self, machine: SystemdMachine):
        self.machine = machine
        machine.run("useradd", "--create-home", USER)
        self.uid = int(machine.run("id", "-u", USER).stdout)
        self.runtime = f"/run/user/{self.uid}"
        machine.run("loginctl", "enable-linger", USER)
        wait_for(lambda: machine.path(f"{self.runtime}/bus").exists(), 60, 0.3,
                 what=f"{USER}'s systemd --user and session bus")
        state = self.run("systemctl", "--user", "is-system-running", "--wait", check=False)
        assert state.stdout.strip() in ("running", "degraded"), (state, machine.status())

    def run(self, *argv: str, check: bool = True):
        return self.machine.run(
            "setpriv", f"--reuid={USER}", f"--regid={USER}", "--init-groups", "env",
            f"HOME=/home/{USER}", f"XDG_RUNTIME_DIR={self.runtime}",
            f"DBUS_SESSION_BUS_ADDRESS=unix:path={self.runtime}/bus", *argv, check=check)

    def journal(self, unit: str) -> str:
        return self.machine.run("journalctl", "--no-pager", "-o", "cat", f"_UID={self.uid}",
                                f"_SYSTEMD_USER_UNIT={unit}").stdout

    def active(self, unit: str) -> str:
        return self.run("systemctl", "--user", "is-active", unit, check=False).stdout.strip()


def assert_user_picture(session: UserSession, guest, vm: str, artifacts, label: str):
    """A consumer in the user's session gets the guest's pattern from the VM's node."""
    dump = f"/var/tmp/vmcast-{label}.frame"
    expected = read_ppm(guest.pattern)
    last = {}

    def one_picture() -> bool:
        res = session.run(f"{TOOLS}/vmcast-frame-consumer", "--target", node_name(vm),
                          "--format", "BGRx", "--dump-latest", dump, "--frames", "1",
                          "--timeout", "20", check=False)
        last["res"] = res
        if res.returncode != 0:
            return False
        last["img"] = read_vmcast_frame(session.machine.path(dump))
        return compare(last["img"], expected).equal
    try:
        wait_for(one_picture, BOOT_TIMEOUT, 0.5, what=f"{label}: the node's picture == the "
                 "guest's pattern")
    except AssertionError:
        if "img" in last:
            artifacts.save_image(f"{label}-stream", last["img"])
        res = last.get("res")
        raise AssertionError(f"{label}: {res and res.stdout[-2000:]}{res and res.stderr[-2000:]}"
                             f"\n{session.journal('vmcast.service')[-3000:]}") from None


def test_user_unit_as_the_readme_says(installed, guest, artifacts):
    machine = installed
    assert guest.pattern is not None, "the test guest's pattern.ppm is missing"
    session = UserSession(machine)
    config = machine.path(f"/home/{USER}/.config/vmcast")
    session.run("mkdir", "-p", f"/home/{USER}/.config/vmcast")
    (config / "vmcast.conf").write_text(f"[web]\nlisten=127.0.0.1:{USER_PORT}\n")

    # A VM of the user's, on their session bus.
    vm = "vmcast-user-vm"
    guest_dir = machine.path("/var/tmp/vmcast-user-guest")
    guest_dir.mkdir(mode=0o755)
    os.chmod(guest_dir, 0o755)
    for part in ("vmlinuz", "initrd.img"):
        shutil.copy(Path(guest.dir) / part, guest_dir / part)
        os.chmod(guest_dir / part, 0o644)
    qemu = ["qemu-system-x86_64", "-accel", "tcg", "-m", "256", "-name", vm, "-display", "dbus",
            "-vga", "std", "-kernel", "/var/tmp/vmcast-user-guest/vmlinuz", "-initrd",
            "/var/tmp/vmcast-user-guest/initrd.img", "-append", guest.append("pattern")]
    session.run("systemd-run", "--user", "--unit=vmcast-user-vm", *qemu)

    res = session.run("systemctl", "--user", "enable", "--now", "vmcast")
    assert "default.target.wants/vmcast.service" in res.stdout + res.stderr, res
    assert session.active("vmcast") == "active", session.journal("vmcast.service")
    lines = [l for l in session.journal("vmcast.service").splitlines()
             if l.startswith("vmcast: VMs at ")]
    assert len(lines) == 1 and f"127.0.0.1:{USER_PORT}/?token=" in lines[0], lines
    token = lines[0].split("token=", 1)[1]
    page = Page(machine, USER_PORT)
    page.wait_state(token, vm, "running")
    assert_user_picture(session, guest, vm, artifacts, "user")

    # The session's PipeWire restarted: vmcast (which only wants it) stays and follows it.
    pid = session.run("systemctl", "--user", "show", "-P", "MainPID", "vmcast").stdout
    session.run("systemctl", "--user", "restart", "pipewire")
    assert_user_picture(session, guest, vm, artifacts, "user-pipewire-restarted")
    assert session.run("systemctl", "--user", "show", "-P", "MainPID", "vmcast").stdout == pid

    session.run("systemctl", "--user", "reload", "vmcast")
    journal = session.journal("vmcast.service")
    assert f"reloaded /home/{USER}/.config/vmcast/vmcast.conf" in journal, journal[-3000:]

    session.run("systemctl", "--user", "stop", "vmcast")
    assert session.active("vmcast") == "inactive"
    result = session.run("systemctl", "--user", "show", "-P", "Result", "vmcast").stdout.strip()
    assert result == "success", (result, session.journal("vmcast.service")[-3000:])
    session.run("systemctl", "--user", "stop", "vmcast-user-vm", check=False)
