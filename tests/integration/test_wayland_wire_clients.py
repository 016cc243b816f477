"""`vmcast run --wayland` against Wayland clients written on the wire
(vmcast_testlib/wayland_wire.py), sending what wtype and wayvnc do not: relative pointer motion
and axis events, a keyboard holding keys while its console goes, and a flood of screencopy
requests. What the fake QEMU peer receives, and what other clients still get, is checked."""
from __future__ import annotations

import mmap
import os
import struct
import threading
import time
from pathlib import Path
from typing import NamedTuple

import pytest

from test_wayland_input import (A, EVDEV_A, KEY, KEYMAP, QEMU_LEFT, QEMU_WHEEL_DOWN,
                                QEMU_WHEEL_UP, SHIFT, US_KEYMAP, XKB_V1,
                                keymap_memfd, two_consoles, virtual_keyboard,
                                wait_for_console_keys)
from test_wayland_tools import SOCKET, VM, assert_same, grim, run_tool, show, wayland_peer
from vmcast_testlib import MEASURABLE_HEAP_ENV, process_usage, wait_for
from vmcast_testlib.fake_qemu import FakeQemu
from vmcast_testlib.images import Image, read_raw_bytes
from vmcast_testlib.wayland_wire import WaylandError, WireClient, fixed, int32, uint

# zwlr_virtual_pointer_manager_v1 and zwlr_virtual_pointer_v1 requests.
CREATE_POINTER, CREATE_POINTER_WITH_OUTPUT = 0, 2
MOTION, MOTION_ABSOLUTE, BUTTON, AXIS, FRAME, AXIS_DISCRETE, DESTROY = 0, 1, 2, 3, 4, 7, 8
VERTICAL_SCROLL = 0
BTN_LEFT = 0x110
# zwp_virtual_keyboard_v1.modifiers; Shift is the first modifier of every XKB keymap.
MODIFIERS = 2
SHIFT_MASK = 1
EVDEV_LEFTSHIFT = 42


def socket_path(session) -> str:
    return str(Path(session.env["XDG_RUNTIME_DIR"]) / SOCKET)


def virtual_pointer(session, output: str) -> tuple[WireClient, int]:
    """A raw client's zwlr_virtual_pointer_v1 on seat0, mapped to the output named output."""
    client = WireClient(socket_path(session))
    client.get_globals()
    seat = client.bind("wl_seat")
    manager = client.bind("zwlr_virtual_pointer_manager_v1", 2)
    target = client.bind_output(output)
    pointer = client.new_id()
    client.send(manager, CREATE_POINTER_WITH_OUTPUT, uint(seat) + uint(target) + uint(pointer))
    return client, pointer


def pointer_events(peer, since: int) -> list[tuple]:
    """Pointer events with their console; a call QEMU refused keeps its error."""
    events = []
    for e in peer.events(since=since):
        if e["event"] == "mouse-rel":
            events.append((e["console"], "rel", e["dx"], e["dy"], e.get("error")))
        elif e["event"] == "mouse-abs":
            events.append((e["console"], "abs", e["x"], e["y"], e.get("error")))
        elif e["event"] == "mouse-button":
            events.append((e["console"], e["action"], e["button"], None, e.get("error")))
    return events


def wait_for_pointer_events(peer, mark: int, expected: list[tuple], what: str) -> None:
    wait_for(lambda: len(pointer_events(peer, mark)) >= len(expected), 20, what=what)
    assert pointer_events(peer, mark) == expected, what


def click_and_scroll(client: WireClient, pointer: int) -> None:
    """A left click, a smooth scroll of one click down, a discrete one up; each its frame."""
    for state in (1, 0):
        client.send(pointer, BUTTON, uint(0) + uint(BTN_LEFT) + uint(state))
        client.send(pointer, FRAME)
    client.send(pointer, AXIS, uint(0) + uint(VERTICAL_SCROLL) + fixed(15))
    client.send(pointer, FRAME)
    client.send(pointer, AXIS_DISCRETE,
                uint(0) + uint(VERTICAL_SCROLL) + fixed(-15) + int32(-1))
    client.send(pointer, FRAME)


def clicked_and_scrolled(console: int) -> list[tuple]:
    return [(console, action, button, None, None)
            for button in (QEMU_LEFT, QEMU_WHEEL_DOWN, QEMU_WHEEL_UP)
            for action in ("press", "release")]


def test_relative_motion_on_a_relative_console(session, tmp_path):
    """Two consoles taking relative motion (mice): a pointer mapped to console 1 moves it by
    RelMotion, sub-pixel parts carried over; its buttons and wheel go there too."""
    with two_consoles(session, tmp_path) as run:
        client, pointer = virtual_pointer(session, f"vmcast.{VM}.1")
        mark = run.peer.mark()
        for dx, dy in [(3.5, -2), (0.5, 0), (-0.25, 7)]:
            client.send(pointer, MOTION, uint(0) + fixed(dx) + fixed(dy))
            client.send(pointer, FRAME)
        click_and_scroll(client, pointer)
        client.roundtrip()
        wait_for_pointer_events(run.peer, mark, [(1, "rel", 3, -2, None), (1, "rel", 1, 0, None),
                                                 (1, "rel", 0, 7, None),
                                                 *clicked_and_scrolled(1)],
                                "relative motion, a click and the wheel on console 1")
        client.close()
        assert run.vmcast.poll() is None


def test_virtual_pointers_that_go_leave_vmcast_memory_intact(session, tmp_path):
    """vmcast under valgrind's memcheck: a virtual pointer goes with its client's disconnect,
    another with its destroy request, and memcheck sees no access to freed memory. wlroots 0.15
    frees a virtual pointer's wlr_pointer before it emits the pointer's destroy event: vmcast's
    listeners on the wlr_pointer's signals, removed then, wrote into freed memory and corrupted
    the heap (glibc aborted vmcast one run in four; ASan does not see writes made inside
    libwayland)."""
    log = tmp_path / "memcheck.log"
    memcheck = ["valgrind", "--quiet", "--error-exitcode=99", "--leak-check=no",
                f"--log-file={log}"]
    with two_consoles(session, tmp_path, command_prefix=memcheck) as run:
        mark = run.peer.mark()
        for goes_by in ("disconnect", "destroy request"):
            client, pointer = virtual_pointer(session, f"vmcast.{VM}.1")
            client.send(pointer, MOTION, uint(0) + fixed(2) + fixed(1))
            client.send(pointer, FRAME)
            if goes_by == "destroy request":
                client.send(pointer, DESTROY)
            client.roundtrip()
            client.close()
        wait_for_pointer_events(run.peer, mark, [(1, "rel", 2, 1, None)] * 2,
                                "both pointers' motion on console 1")
        # A client vmcast still serves after both went.
        client, pointer = virtual_pointer(session, f"vmcast.{VM}.1")
        client.roundtrip()
        client.close()
        run.vmcast.terminate()
        assert run.vmcast.wait(timeout=30) == 0, log.read_text()
    assert log.read_text() == "", log.read_text()


def test_relative_motion_on_an_absolute_console(session, tmp_path):
    """Two consoles taking absolute positions (tablets): relative motion of a pointer mapped to
    console 1 moves a position vmcast keeps, clamped to the console and sent as positions, from
    the console's corner before any absolute motion, from that motion's point after it."""
    with two_consoles(session, tmp_path, ["--absolute"]) as run:
        client, pointer = virtual_pointer(session, f"vmcast.{VM}.1")
        mark = run.peer.mark()
        client.send(pointer, MOTION, uint(0) + fixed(10) + fixed(5))
        client.send(pointer, MOTION_ABSOLUTE,
                    uint(0) + uint(100) + uint(50) + uint(320) + uint(200))
        for dx, dy in [(10, 5), (1000, -1000)]:
            client.send(pointer, MOTION, uint(0) + fixed(dx) + fixed(dy))
            client.send(pointer, FRAME)
        click_and_scroll(client, pointer)
        client.roundtrip()
        wait_for_pointer_events(run.peer, mark, [(1, "abs", 10, 5, None),
                                                 (1, "abs", 100, 50, None),
                                                 (1, "abs", 110, 55, None),
                                                 (1, "abs", 319, 0, None),
                                                 *clicked_and_scrolled(1)],
                                "relative and absolute motion, a click, the wheel on console 1")
        client.close()
        assert run.vmcast.poll() is None


def test_keys_held_when_the_console_goes_are_not_held_on_the_next(session, tmp_path):
    """A raw keyboard holds Shift (key and mask) on console 0 when the VM goes; once it is back,
    the client lets go of Shift and types 'a': the new console gets a plain A."""
    with two_consoles(session, tmp_path) as run:
        client, keyboard = virtual_keyboard(socket_path(session))
        fd = keymap_memfd("us.xkb", US_KEYMAP)
        client.send(keyboard, KEYMAP, uint(XKB_V1) + uint(len(US_KEYMAP)), [fd])
        os.close(fd)
        mark = run.peer.mark()
        client.send(keyboard, KEY, uint(0) + uint(EVDEV_LEFTSHIFT) + uint(1))
        client.send(keyboard, MODIFIERS, uint(SHIFT_MASK) + uint(0) + uint(0) + uint(0))
        client.roundtrip()
        wait_for_console_keys(run.peer, mark, [(0, "press", SHIFT)], "Shift held on console 0")

        run.peer.stop()
        wait_for(lambda: session.find_node(f"vmcast.{VM}.0") is None, 20,
                 what="the console's node gone with its VM")
        with FakeQemu(session.env, name=VM, consoles=2) as peer:
            peer.wait_listener(console=0, timeout=20)
            assert peer.command("scanout width=320 height=200 pattern=gradient")["ok"]
            wait_for(lambda: run_tool(session, ["grim", "-o", f"vmcast.{VM}.0",
                                                str(tmp_path / "back.png")]).returncode == 0,
                     20, 0.5, what=f"output vmcast.{VM}.0 back")
            mark = peer.mark()
            client.send(keyboard, KEY, uint(0) + uint(EVDEV_LEFTSHIFT) + uint(0))
            client.send(keyboard, MODIFIERS, uint(0) + uint(0) + uint(0) + uint(0))
            for state in (1, 0):
                client.send(keyboard, KEY, uint(0) + uint(EVDEV_A) + uint(state))
            client.roundtrip()
            wait_for_console_keys(peer, mark, [(0, "press", A), (0, "release", A)],
                                  "a plain 'a' on the console that came back")
        client.close()
        assert run.vmcast.poll() is None


# zwlr_screencopy_manager_v1.capture_output; zwlr_screencopy_frame_v1's requests and its
# buffer, ready and failed events; wl_shm.create_pool, wl_shm_pool.create_buffer.
CAPTURE_OUTPUT = 0
COPY, COPY_WITH_DAMAGE = 0, 2
FRAME_BUFFER, FRAME_READY, FRAME_FAILED = 0, 2, 3
CREATE_POOL, CREATE_BUFFER = 0, 0
FLOOD_BATCH, FLOOD_BATCHES = 200, 200
STILL_COPIES = 5


class Screencopy(NamedTuple):
    """A raw client with the screencopy manager, an output and one wl_shm buffer of the size
    and format a frame of that output asks for, mapped here (pixels)."""
    client: WireClient
    manager: int
    output: int
    buffer: int
    pixels: mmap.mmap
    width: int
    height: int
    stride: int

    def picture(self) -> Image:
        """The buffer's pixels (XRGB8888 or ARGB8888: B,G,R,X bytes)."""
        rows = b"".join(self.pixels[y * self.stride:y * self.stride + self.width * 4]
                        for y in range(self.height))
        return read_raw_bytes(rows, self.width, self.height, "BGRx")


def screencopy_client(session, output: str) -> Screencopy:
    client = WireClient(socket_path(session))
    client.get_globals()
    manager = client.bind("zwlr_screencopy_manager_v1", 3)
    target = client.bind_output(output)
    frame = client.new_id()
    client.send(manager, CAPTURE_OUTPUT, uint(frame) + int32(0) + uint(target))
    client.roundtrip()
    body = next(body for object_id, opcode, body in client.events
                if object_id == frame and opcode == FRAME_BUFFER)
    shm_format, width, height, stride = struct.unpack("=IIII", body[:16])
    shm = client.bind("wl_shm")
    fd = os.memfd_create("screencopy-buffer")
    os.ftruncate(fd, stride * height)
    pixels = mmap.mmap(fd, stride * height)
    pool, buffer = client.new_id(), client.new_id()
    client.send(shm, CREATE_POOL, uint(pool) + int32(stride * height), [fd])
    os.close(fd)
    client.send(pool, CREATE_BUFFER, uint(buffer) + int32(0) + int32(width) + int32(height) +
                int32(stride) + uint(shm_format))
    client.roundtrip()
    return Screencopy(client, manager, target, buffer, pixels, width, height, stride)


def copy_requests(client: WireClient, manager: int, target: int, buffer: int,
                  request: int) -> int:
    """A new frame of the output, copied into buffer, never destroyed: its id."""
    frame = client.new_id()
    client.send(manager, CAPTURE_OUTPUT, uint(frame) + int32(0) + uint(target))
    client.send(frame, request, uint(buffer))
    return frame


def flood(client: WireClient, manager: int, target: int, buffer: int, request: int) -> None:
    """Copy requests in batches, the events read after each, until all are sent or vmcast hangs
    up; wl_display.error raises WaylandError."""
    try:
        for _ in range(FLOOD_BATCHES):
            for _ in range(FLOOD_BATCH):
                copy_requests(client, manager, target, buffer, request)
            client.roundtrip()
    except (BrokenPipeError, ConnectionResetError):
        client.roundtrip()  # reads the error that came before the hang-up


def test_clients_flooding_copy_requests_leave_vmcast_serving(session, artifacts, tmp_path):
    """While the console changes (the peer streams 90 changes): a client that floods copy
    requests and never reads, then clients that flood copy and copy_with_damage requests
    without waiting for their frames (reading only the events, in batches). vmcast cuts the
    flooders off with a protocol error, keeps no memory for them, and the stream and grim go
    on."""
    with wayland_peer(session, artifacts, tmp_path, vmcast_env=MEASURABLE_HEAP_ENV) as run:
        picture = show(run, "scanout width=64 height=48 pattern=gradient", "picture")
        output = f"vmcast.{VM}.0"
        grim(session, tmp_path / "warm.png", "-o", output)
        heap_before, fds_before = process_usage(run.vmcast.pid)
        frames_before = len(run.consumer.frames)
        streamed = {}
        streaming = threading.Thread(target=lambda: streamed.update(run.peer.command(
            "stream rate=30 duration=3 region=tenth", timeout=60)))
        streaming.start()

        deaf, manager, target, buffer, *_ = screencopy_client(session, output)
        deaf.sock.setblocking(False)
        try:
            for _ in range(FLOOD_BATCH * FLOOD_BATCHES):
                copy_requests(deaf, manager, target, buffer, COPY)
        except (BlockingIOError, BrokenPipeError, ConnectionResetError):
            pass  # its socket is full, or vmcast hung up
        deaf.close()

        # 40000 frames held would be about 7 MiB of vmcast's memory.
        heap_flooded = []
        for request in (COPY, COPY_WITH_DAMAGE):
            flooder, manager, target, buffer, *_ = screencopy_client(session, output)
            with pytest.raises(WaylandError) as error:
                flood(flooder, manager, target, buffer, request)
            heap_flooded.append(process_usage(run.vmcast.pid)[0])
            assert "screencopy frames" in error.value.args[2], error.value.args
            assert flooder.closed_by_compositor()
            flooder.close()

        streaming.join(timeout=60)
        assert streamed.get("ok"), streamed
        assert len(run.consumer.frames) > frames_before, run.consumer.describe()
        changed = show(run, "update x=0 y=0 width=16 height=16 pattern=solid:00ff00",
                       "a change after the floods")
        assert_same(artifacts, grim(session, tmp_path / "after.png", "-o", output), changed,
                    "grim after the floods")
        heap_after, fds_after = process_usage(run.vmcast.pid)
        heaps = [heap_before, *heap_flooded, heap_after]
        print(f"vmcast anonymous KiB before, after each flood, at the end: {heaps}")
        assert max(heaps) - heap_before < 2048, heaps
        assert fds_after <= fds_before, (fds_before, fds_after)
        assert picture.size == changed.size
        run.assert_alive()


def copied(copy: Screencopy, frame: int, timeout: float) -> bool:
    """Reads events until frame is ready (True) or timeout passes (False); failed raises."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        copy.client.roundtrip()
        opcodes = [opcode for object_id, opcode, _ in copy.client.events if object_id == frame]
        assert FRAME_FAILED not in opcodes, "the compositor failed the copy"
        if FRAME_READY in opcodes:
            return True
        time.sleep(0.05)
    return False


def test_clients_copying_with_damage_get_a_still_screen_again(session, artifacts, tmp_path):
    """xdg-desktop-portal-wlr copies with damage, one frame after the other. On a still screen a
    frame lost on its way to the app (or an app joining xdpw's node later) would wait for the
    next change, a black cast of a still VM: a client that waits for damage on a still screen
    gets the whole picture again after a second. The first copies may still see damage of the
    picture's arrival; by the last the screen has been still for seconds."""
    with wayland_peer(session, artifacts, tmp_path) as run:
        picture = show(run, "scanout width=64 height=48 pattern=gradient", "picture")
        copy = screencopy_client(session, f"vmcast.{VM}.0")
        for attempt in range(STILL_COPIES):
            copy.pixels[:] = bytes(len(copy.pixels))
            frame = copy_requests(copy.client, copy.manager, copy.output, copy.buffer,
                                  COPY_WITH_DAMAGE)
            assert copied(copy, frame, timeout=5), f"copy {attempt + 1}: no frame within 5 s"
            assert_same(artifacts, copy.picture(), picture, f"copy {attempt + 1}")
        copy.client.close()
        run.assert_alive()
