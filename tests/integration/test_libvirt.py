"""`vmcast run --libvirt` with a real libvirt daemon (qemu:///system, as root) and TCG domains
with <graphics type='dbus'/> booting the test guest.

CLI contract under test:
  vmcast run --libvirt[=URI]   streams every running domain whose display is on D-Bus, its nodes
      named after the domain (vmcast.<domain>.<console>); follows `virsh destroy` / `virsh start`
      and domains started later; p2p displays are opened through libvirt
      (virDomainOpenGraphicsFD), by a vmcast running as root or as QEMU's user alike; a
      domain's private bus admits only QEMU's user, so a vmcast running as another user says
      how to show such a domain.
"""
from __future__ import annotations

import grp
import os
import pwd

import pytest

from test_real_qemu import Vmcast, node_name, wait_pictures
from test_vm_follow import wait_gone
from vmcast_testlib import process_usage, wait_for
from vmcast_testlib.consumer import FrameConsumer
from vmcast_testlib.images import compare, read_vmcast_frame
from vmcast_testlib.libvirt import Domain, Libvirtd

BOOT_TIMEOUT = 180  # the guest's kernel under TCG on two busy cores
PREFIX = "vmcast-lv"


@pytest.fixture(scope="module")
def libvirtd(tmp_path_factory):
    daemon = Libvirtd(tmp_path_factory.mktemp("libvirtd"))
    yield daemon
    daemon.close()


@pytest.fixture
def domains(libvirtd, guest):
    made: list[Domain] = []

    def make(suffix: str, **kw) -> Domain:
        domain = Domain(f"{PREFIX}-{suffix}", guest, **kw)
        made.append(domain)
        return domain
    yield make
    for domain in made:
        domain.close()


def assert_shows_domain(session, domain: Domain, vmcast: Vmcast, tmp_path, artifacts,
                        label: str) -> None:
    """A new consumer of the domain's node gets what QEMU shows (the guest's pattern)."""
    node = node_name(domain.name)
    vmcast.wait_node(node, BOOT_TIMEOUT)
    wait_for(lambda: domain.screenshot().size == (1024, 768), BOOT_TIMEOUT, 1,
             what=f"{domain.name}: the guest's 1024x768 pattern")
    dump = tmp_path / f"{label}.frame"
    consumer = FrameConsumer(session, node, str(dump))
    domain.suspend()
    try:
        wait_pictures(consumer)
        expected = domain.screenshot()
        last = {}

        def matches() -> bool:
            last["img"] = read_vmcast_frame(dump)
            return compare(last["img"], expected).equal
        try:
            wait_for(matches, 30, 0.25, what=f"{label}: stream frame == libvirt screenshot")
        except AssertionError:
            artifacts.save_image(f"{label}-screenshot", expected)
            if "img" in last:
                artifacts.save_image(f"{label}-stream", last["img"])
            raise
        consumer.assert_no_bad_buffers()
    finally:
        consumer.stop()
        domain.resume()


def test_follows_domains_started_destroyed_and_started_again(vmcast_bin, consumer_bin, session,
                                                             domains, tmp_path, artifacts):
    first = domains("first").start()
    vmcast = Vmcast(session, vmcast_bin, "--libvirt")
    assert_shows_domain(session, first, vmcast, tmp_path, artifacts, "first")

    # A second domain started later appears; the first keeps streaming.
    second = domains("second").start()
    assert_shows_domain(session, second, vmcast, tmp_path, artifacts, "second")

    first.destroy()
    wait_gone(session, node_name(first.name), vmcast)
    assert session.find_node(node_name(second.name)) is not None, "second went with first"

    first.start()
    assert_shows_domain(session, first, vmcast, tmp_path, artifacts, "first-again")
    usage = process_usage(vmcast.proc.pid)
    for attempt in range(3):
        first.destroy()
        wait_gone(session, node_name(first.name), vmcast)
        first.start()
        vmcast.wait_node(node_name(first.name), BOOT_TIMEOUT)
    assert_shows_domain(session, first, vmcast, tmp_path, artifacts, "first-restarted")
    rss, fds = process_usage(vmcast.proc.pid)
    assert fds <= usage[1], f"vmcast's fds grew over 3 domain restarts: {usage[1]} -> {fds}"
    assert vmcast.proc.poll() is None, vmcast.logs()
    assert vmcast.stop() == 0


def test_only_the_domains_named_with_vm(vmcast_bin, consumer_bin, session, domains):
    other = domains("other").start()
    vmcast = Vmcast(session, vmcast_bin, "--libvirt", "--vm", f"{PREFIX}-wanted")
    wanted = domains("wanted").start()
    vmcast.wait_node(node_name(wanted.name), BOOT_TIMEOUT)
    assert session.find_node(node_name(other.name)) is None, "a domain not named with --vm"
    assert vmcast.stop() == 0


def test_a_bus_domain_vmcast_cannot_join_is_explained(vmcast_bin, session, domains):
    """libvirt's private bus for a domain admits only the user QEMU runs as; vmcast, as root here,
    tells the user which two ways there are, and keeps following the others."""
    on_bus = domains("bus", p2p=False).start()
    vmcast = Vmcast(session, vmcast_bin, "--libvirt", verbose=False)
    wait_for(lambda: "<graphics type='dbus' p2p='yes'/>" in vmcast.logs(), 60, 0.3,
             what="vmcast explaining why it cannot show the domain")
    line = next(l for l in vmcast.logs().splitlines() if "p2p='yes'" in l)
    assert f"cannot show domain '{on_bus.name}'" in line, line
    assert "admits only the user QEMU runs as" in line, line
    p2p = domains("p2p").start()
    vmcast.wait_node(node_name(p2p.name), BOOT_TIMEOUT)
    assert vmcast.proc.poll() is None
    assert vmcast.stop() == 0


class VmcastAs(Vmcast):
    """`vmcast run` as another user (setpriv), with the session's PipeWire reachable to it."""

    def __init__(self, session, binary, user: str, *args: str):
        # The session's directories are 0700: the other user may only pass through them, to
        # PipeWire's socket.
        for directory in (session.tmpdir, session.runtime_dir):
            os.chmod(directory, 0o711)
        socket = session.runtime_dir / "pipewire-0"
        os.chmod(socket, 0o777)
        self.session = session
        # In the libvirt group, as the system unit runs it.
        groups = [grp.getgrgid(pwd.getpwnam(user).pw_gid).gr_name, "libvirt"]
        argv = ["setpriv", f"--reuid={user}", f"--regid={pwd.getpwnam(user).pw_gid}",
                f"--groups={','.join(groups)}", str(binary), "run", *args, "--verbose"]
        self.proc = session.spawn(argv, name="vmcast", env={"HOME": "/nonexistent"})


def test_streams_both_forms_as_qemus_user(vmcast_bin, consumer_bin, session, domains, tmp_path,
                                          artifacts):
    """vmcast running as the user QEMU runs as (libvirt-qemu on Debian), in the libvirt group, as
    the system unit runs it: it joins libvirt's own bus of a domain (reading libvirt read-only
    would do), and opens a p2p domain's display through libvirt. The socket pair of a p2p display
    is libvirtd's, made as root, and QEMU's D-Bus server takes that for the client's uid: vmcast
    must not name its own. Frames arrive only if RegisterListener's fd went through, so fd
    passing was negotiated on that connection."""
    on_bus = domains("onbus", p2p=False).start()
    p2p = domains("p2p-user").start()
    vmcast = VmcastAs(session, vmcast_bin, "libvirt-qemu", "--libvirt")
    assert_shows_domain(session, on_bus, vmcast, tmp_path, artifacts, "onbus")
    assert_shows_domain(session, p2p, vmcast, tmp_path, artifacts, "p2p-user")
    for domain in (on_bus, p2p):
        domain.destroy()
        wait_gone(session, node_name(domain.name), vmcast)
        domain.start()
    assert_shows_domain(session, on_bus, vmcast, tmp_path, artifacts, "onbus-again")
    assert_shows_domain(session, p2p, vmcast, tmp_path, artifacts, "p2p-user-again")
    assert vmcast.stop() == 0


def test_unreachable_libvirt_is_one_line(vmcast_bin, session):
    res = session.run([str(vmcast_bin), "run", "--libvirt=qemu+unix:///system?socket=/nonexistent"],
                      timeout=30)
    assert res.returncode == 1, res
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("vmcast: cannot connect to libvirt at "), lines
