"""A Wayland client written straight on the wire (socket + struct), for tests that send what no
well-behaved client library would: requests with any arguments and any fd. It knows just enough
to bind globals, create objects and read wl_display's error; stdlib only.

Wire format: each message is the object id (u32), then (size << 16 | opcode) (u32), then the
arguments, native endian: u32/i32/object/new_id as 4 bytes, a string as its length with the NUL
then the bytes padded to 4; fds go alongside as SCM_RIGHTS."""
from __future__ import annotations

import socket
import struct
from typing import Sequence

DISPLAY_ID = 1
DISPLAY_SYNC, DISPLAY_GET_REGISTRY = 0, 1
DISPLAY_ERROR = 0
REGISTRY_BIND = 0
REGISTRY_GLOBAL = 0
CALLBACK_DONE = 0
OUTPUT_NAME = 4  # wl_output v4's name event


def uint(value: int) -> bytes:
    return struct.pack("=I", value)


def int32(value: int) -> bytes:
    return struct.pack("=i", value)


def fixed(value: float) -> bytes:
    """wl_fixed_t: a signed 24.8 fixed-point number."""
    return struct.pack("=i", round(value * 256))


def string(text: str) -> bytes:
    data = text.encode() + b"\0"
    return uint(len(data)) + data + b"\0" * (-len(data) % 4)


class WaylandError(Exception):
    """wl_display.error: (object id, code, message)."""


class WireClient:
    def __init__(self, path: str, timeout: float = 30):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(path)
        self._next_id = DISPLAY_ID + 1
        self._buffer = b""
        self._registry = 0
        self.globals: dict[str, tuple[int, int]] = {}  # interface: (name, version), the last
        self.all_globals: list[tuple[str, int, int]] = []  # (interface, name, version)
        # Events of other objects, in order: (object id, opcode, body).
        self.events: list[tuple[int, int, bytes]] = []

    def close(self) -> None:
        self.sock.close()

    def new_id(self) -> int:
        self._next_id += 1
        return self._next_id - 1

    def send(self, object_id: int, opcode: int, args: bytes = b"", fds: Sequence[int] = ()) -> None:
        header = uint(object_id) + uint((8 + len(args)) << 16 | opcode)
        ancillary = [(socket.SOL_SOCKET, socket.SCM_RIGHTS, struct.pack(f"={len(fds)}i", *fds))]
        self.sock.sendmsg([header + args], ancillary if fds else [])

    def _read_message(self) -> tuple[int, int, bytes]:
        """The next event; EOFError when the compositor hung up."""
        while True:
            if len(self._buffer) >= 8:
                object_id, size_opcode = struct.unpack("=II", self._buffer[:8])
                size = size_opcode >> 16
                if len(self._buffer) >= size:
                    body, self._buffer = self._buffer[8:size], self._buffer[size:]
                    return object_id, size_opcode & 0xffff, body
            try:
                data = self.sock.recv(65536)
            except ConnectionResetError:  # it hung up on requests it had not read
                data = b""
            if not data:
                raise EOFError("the compositor closed the connection")
            self._buffer += data

    def roundtrip(self) -> None:
        """wl_display.sync and reads events until its callback is done, keeping the globals;
        wl_display.error raises WaylandError."""
        callback = self.new_id()
        try:
            self.send(DISPLAY_ID, DISPLAY_SYNC, uint(callback))
        except (BrokenPipeError, ConnectionResetError):
            pass  # already disconnected: its error is still there to read
        while True:
            object_id, opcode, body = self._read_message()
            if object_id == DISPLAY_ID and opcode == DISPLAY_ERROR:
                failed_id, code, length = struct.unpack("=III", body[:12])
                raise WaylandError(failed_id, code, body[12:12 + length - 1].decode())
            if object_id == callback and opcode == CALLBACK_DONE:
                return
            if object_id == self._registry and opcode == REGISTRY_GLOBAL:
                name, length = struct.unpack("=II", body[:8])
                interface = body[8:8 + length - 1].decode()
                (version,) = struct.unpack("=I", body[8 + (length + 3) // 4 * 4:][:4])
                self.globals[interface] = (name, version)
                self.all_globals.append((interface, name, version))
            elif object_id != self._registry:
                self.events.append((object_id, opcode, body))

    def closed_by_compositor(self) -> bool:
        """Reads what is left; True once the compositor has hung up."""
        try:
            while True:
                self._read_message()
        except EOFError:
            return True

    def get_globals(self) -> None:
        self._registry = self.new_id()
        self.send(DISPLAY_ID, DISPLAY_GET_REGISTRY, uint(self._registry))
        self.roundtrip()

    def bind(self, interface: str, version: int = 1, name: int | None = None) -> int:
        """Binds the global called name, or else the last global of interface."""
        if name is None:
            name, _ = self.globals[interface]
        object_id = self.new_id()
        self.send(self._registry, REGISTRY_BIND,
                  uint(name) + string(interface) + uint(version) + uint(object_id))
        return object_id

    def bind_output(self, output_name: str) -> int:
        """Binds every wl_output (version 4, which says its name) and returns the one named
        output_name, or raises KeyError."""
        outputs = [self.bind("wl_output", 4, name) for interface, name, _ in self.all_globals
                   if interface == "wl_output"]
        self.roundtrip()
        for object_id, opcode, body in self.events:
            if object_id in outputs and opcode == OUTPUT_NAME:
                (length,) = struct.unpack("=I", body[:4])
                if body[4:4 + length - 1].decode() == output_name:
                    return object_id
        raise KeyError(f"no wl_output named {output_name}")
