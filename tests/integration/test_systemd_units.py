"""vmcast's systemd units under a real systemd: this machine's own OS booted in a container
(systemd as PID 1, vmcast_testlib/machine.py), with its libvirtd, polkit and journald, vmcast
installed into it with `meson install`, then used the way README.md's "Running as a service"
says.

  system unit   `systemctl enable --now vmcast` with /etc/vmcast/vmcast.conf saying [web] listen:
      the journal has the page's address; the page's list (/vms) shows a domain with
      <graphics type='dbus'/> running, and a consumer of its node (as libvirt-qemu, with
      PIPEWIRE_RUNTIME_DIR=/run/vmcast) gets what QEMU shows; `virsh destroy` and `virsh start`
      are followed; `systemctl restart vmcast-pipewire` brings back the same page (its token
      kept) and the picture; `systemctl reload vmcast` reloads the file in the same process;
      `systemctl stop vmcast` stops the four units, each with success.
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

    def __init__(self, machine: SystemdMachine):
        self.machine = machine

    def addresses(self) -> list[str]:
        """Every 'VMs at' address in vmcast's journal, as README.md says to find it."""
        res = self.machine.run("journalctl", "-u", "vmcast", "--no-pager", "-o", "cat")
        return [line.split(" at ", 1)[1] for line in res.stdout.splitlines()
                if line.startswith("vmcast: VMs at ")]

    def vms(self, token: str) -> list[dict] | None:
        """/vms?token= as JSON, or None while nothing answers on the port."""
        script = ("import sys, urllib.request\n"
                  "try:\n"
                  f"    r = urllib.request.urlopen('http://127.0.0.1:{PORT}/vms?token={token}',"
                  " timeout=10)\n"
                  "except OSError as e:\n"
                  "    sys.exit(f'no answer: {e}')\n"
                  "print(r.read().decode())\n")
        res = self.machine.run("python3", "-c", script, check=False)
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


def main_pid(machine: SystemdMachine) -> int:
    return int(machine.run("systemctl", "show", "-P", "MainPID", "vmcast").stdout)


def active(machine: SystemdMachine) -> list[str]:
    return machine.run("systemctl", "is-active", *UNITS, check=False).stdout.split()


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

    # PipeWire restarted: its units and vmcast come back, with the same page.
    before = main_pid(machine)
    machine.run("systemctl", "restart", "vmcast-pipewire")
    # systemctl waits for PipeWire's job; vmcast's, in the same transaction, ends after it.
    try:
        wait_for(lambda: active(machine) == ["active"] * 4, 60, 0.3,
                 what="vmcast and its units active again")
    except AssertionError as exc:
        raise AssertionError(f"{exc}: {active(machine)}\n{machine.status()}") from None
    assert main_pid(machine) != before, "vmcast, bound to its PipeWire, did not restart with it"
    again = wait_for(lambda: page.addresses()[1:], 30, 0.3, what="the restarted vmcast's address")
    assert again == addresses, "the page's address changed"
    page.wait_state(token, domain.name, "running")
    assert_picture(machine, domain, artifacts, "pipewire-restarted")

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
