"""`vmcast run` without --vm follows every VM on its bus (real QEMU 7.2, real PipeWire): VMs that
start after vmcast, stop, and come back as new QEMU processes under the same name.

CLI contract under test:
  vmcast run [--vm NAME]...   streams each VM on the bus (only the named ones with --vm) as it
      appears, removes its nodes when it stops and streams it again, on the same node names,
      when a VM of that name is back; vmcast itself keeps running.

QEMU runs without a guest (SeaBIOS's 720x400 "no bootable device" text screen): quick to start,
and a picture QMP screendump can be compared with.
"""
from __future__ import annotations

import signal

from test_real_qemu import (Vmcast, assert_gets_a_picture, assert_stream_matches, node_name,
                            wait_pictures)
from vmcast_testlib import MEASURABLE_HEAP_ENV, Qemu, process_usage, wait_for
from vmcast_testlib.consumer import FrameConsumer

APPEAR_TIMEOUT = 30


def wait_gone(session, name: str, vmcast: Vmcast, timeout: float = 15) -> None:
    try:
        wait_for(lambda: session.find_node(name) is None, timeout, 0.2,
                 what=f"PipeWire node {name} going away")
    except AssertionError as exc:
        raise AssertionError(f"{exc}\nvmcast stderr:\n{vmcast.logs()}") from None


def check_picture(session, qemu: Qemu, vmcast: Vmcast, tmp_path, artifacts, label: str) -> None:
    """A new consumer of the VM's node gets the VM's picture, equal to QMP screendump."""
    vmcast.wait_node(node_name(qemu.name), APPEAR_TIMEOUT)
    wait_for(lambda: qemu.screendump().size == (720, 400), 60, 0.5,
             what=f"{qemu.name}: SeaBIOS text mode")
    dump = tmp_path / f"{label}.frame"
    consumer = FrameConsumer(session, node_name(qemu.name), str(dump))
    try:
        wait_pictures(consumer)
        assert_stream_matches(qemu, dump, artifacts, label)
        consumer.assert_no_bad_buffers()
    finally:
        consumer.stop()
        qemu.cont()


def test_two_vms_started_and_stopped_in_turn(vmcast_bin, consumer_bin, session, tmp_path,
                                             artifacts):
    vmcast = Vmcast(session, vmcast_bin)  # before any VM: it waits for them
    alpha = Qemu(session, "alpha").start()
    beta = Qemu(session, "beta").start()
    check_picture(session, alpha, vmcast, tmp_path, artifacts, "alpha")
    check_picture(session, beta, vmcast, tmp_path, artifacts, "beta")

    alpha.quit()
    wait_gone(session, node_name("alpha"), vmcast)
    assert session.find_node(node_name("beta")) is not None, "beta's node went with alpha's"
    check_picture(session, beta, vmcast, tmp_path, artifacts, "beta-after-alpha-stopped")

    # A new QEMU process under the same name: the same node, with its picture.
    alpha = Qemu(session, "alpha").start()
    check_picture(session, alpha, vmcast, tmp_path, artifacts, "alpha-again")
    beta.quit()
    wait_gone(session, node_name("beta"), vmcast)
    assert session.find_node(node_name("alpha")) is not None, "alpha's node went with beta's"
    assert vmcast.proc.poll() is None, vmcast.logs()
    assert vmcast.stop() == 0


def test_only_the_vms_named_with_vm(vmcast_bin, consumer_bin, session, tmp_path, artifacts):
    vmcast = Vmcast(session, vmcast_bin, "--vm", "wanted", "--vm", "also")
    Qemu(session, "other").start()
    wanted = Qemu(session, "wanted").start()
    check_picture(session, wanted, vmcast, tmp_path, artifacts, "wanted")
    also = Qemu(session, "also").start()
    vmcast.wait_node(node_name(also.name), APPEAR_TIMEOUT)
    assert session.find_node(node_name("other")) is None, "a VM not named with --vm is streamed"
    assert vmcast.stop() == 0


def test_vm_killed_and_restarted_twenty_times(vmcast_bin, consumer_bin, session, tmp_path,
                                              artifacts):
    """SIGKILL, as when QEMU crashes or is killed by a host's OOM killer: vmcast stays up, picks
    the VM up each time, and holds no more memory or file descriptors for it."""
    vmcast = Vmcast(session, vmcast_bin, verbose=False, env=MEASURABLE_HEAP_ENV)
    usage = []
    for round_ in range(20):
        qemu = Qemu(session, "phoenix").start()
        vmcast.wait_node(node_name("phoenix"), APPEAR_TIMEOUT)
        if round_ in (0, 4, 19):
            check_picture(session, qemu, vmcast, tmp_path, artifacts, f"phoenix-{round_}")
        else:
            assert_gets_a_picture(session, node_name("phoenix"))
        qemu.proc.send_signal(signal.SIGKILL)
        qemu.proc.wait(timeout=10)
        wait_gone(session, node_name("phoenix"), vmcast)
        assert vmcast.proc.poll() is None, f"vmcast exited in round {round_}:\n{vmcast.logs()}"
        usage.append(process_usage(vmcast.proc.pid))
    # From the fifth round on, when everything that is made once exists: no growth.
    (rss_5, fds_5), (rss_20, fds_20) = usage[4], usage[19]
    print("vmcast anonymous KiB and fds per round:", usage)
    assert fds_20 <= fds_5, f"file descriptors grew from {fds_5} to {fds_20}: {usage}"
    assert rss_20 - rss_5 < 4096, f"memory grew from {rss_5} to {rss_20} KiB: {usage}"
    assert vmcast.stop() == 0


def test_a_second_vm_of_a_name_takes_over_when_the_first_stops(vmcast_bin, consumer_bin, session,
                                                               tmp_path, artifacts):
    first = Qemu(session, "twin").start()
    vmcast = Vmcast(session, vmcast_bin)
    check_picture(session, first, vmcast, tmp_path, artifacts, "first")
    # Its own QMP socket and logs; the -name given last is the VM's name.
    second = Qemu(session, "twin-b", extra_args=["-name", "twin"]).start()
    wait_for(lambda: "a second VM named 'twin'" in vmcast.logs(), APPEAR_TIMEOUT, 0.2,
             what="vmcast seeing the second VM named twin")
    def serial():  # PipeWire reuses ids; serials are new for each node
        node = session.find_node(node_name("twin"))
        return node["info"]["props"].get("object.serial") if node else None
    first_node = serial()
    first.quit()
    # The node goes with the first and comes back, a new node, with the second's picture.
    wait_for(lambda: serial() not in (None, first_node), APPEAR_TIMEOUT, 0.2,
             what="the second twin's node")
    second.name = "twin"  # check_picture finds the node by the VM's name
    check_picture(session, second, vmcast, tmp_path, artifacts, "second")
    assert vmcast.stop() == 0
