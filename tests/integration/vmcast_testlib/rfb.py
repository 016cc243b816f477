"""The RFB (VNC) client side shared by the tests and the bench (bench/rfb_client.py): the
handshake with security type None, Raw pixels in one 32-bit format, framebuffer updates read
through a callback per rectangle, and key and pointer events. stdlib only.

`Viewer` is the tests' client: it keeps the whole framebuffer, so that what a VNC server shows
can be compared with what the console shows."""
from __future__ import annotations

import socket
import struct
from typing import BinaryIO, Callable

from .images import Image

# Raw only, so the server does no compression work that a comparison of display paths would hide:
# for QEMU, Raw with the pixel format below is its cheapest path (a straight copy of its 32-bit
# surface). DesktopSize lets the server announce a resolution change instead of failing.
ENCODING_RAW = 0
ENCODING_DESKTOP_SIZE = -223
BYTES_PER_PIXEL = 4
# 32 bpp, depth 24, little endian, true colour, 8 bits a channel at shifts 16/8/0: the layout of
# QEMU's own surface, so it needs no conversion. In memory: blue, green, red, unused.
PIXEL_FORMAT = struct.pack(">BBBBHHHBBBxxx", 32, 24, 0, 1, 255, 255, 255, 16, 8, 0)
SECURITY_NONE = 1
SCRATCH_BYTES = 1 << 20

# X11 keysyms used by the tests.
XK_SHIFT_L = 0xffe1

# RFB PointerEvent button mask bits: buttons 1-3, and the wheel as buttons 4 (up) and 5 (down).
BUTTON_LEFT = 1 << 0
WHEEL_UP = 1 << 3
WHEEL_DOWN = 1 << 4


class ProtocolError(Exception):
    pass


class Reader:
    """Buffered reads from the socket: headers come out of the buffer, while large pixel runs go
    straight from the socket into one scratch buffer (BufferedReader bypasses its own buffer for
    reads larger than it), so nothing is allocated per frame."""

    def __init__(self, sock: socket.socket):
        self._file: BinaryIO = sock.makefile("rb", buffering=1 << 16)
        self._scratch = memoryview(bytearray(SCRATCH_BYTES))

    def exact(self, size: int) -> bytes:
        data = self._file.read(size)
        if len(data) < size:
            raise EOFError
        return data

    def skip(self, size: int) -> None:
        while size:
            got = self._file.readinto(self._scratch[:min(size, SCRATCH_BYTES)])
            if not got:
                raise EOFError
            size -= got

    def reason(self) -> str:
        """A failure reason string: u32 length, then text."""
        (length,) = struct.unpack(">I", self.exact(4))
        return self.exact(length).decode(errors="replace")


def negotiate_security(sock: socket.socket, reader: Reader) -> None:
    version = reader.exact(12)  # b"RFB 003.008\n"
    if not version.startswith(b"RFB ") or version[7:8] != b".":
        raise ProtocolError(f"not an RFB server: {version!r}")
    major, minor = int(version[4:7]), int(version[8:11])
    # Servers newer than 3.8 must accept 3.8; 3.4-3.6 are to be treated as 3.3.
    minor = 8 if (major, minor) >= (3, 8) else 7 if minor == 7 else 3
    sock.sendall(b"RFB 003.%03d\n" % minor)
    if minor == 3:  # the server picks the type
        (chosen,) = struct.unpack(">I", reader.exact(4))
        if chosen == 0:
            raise ProtocolError(f"server refused: {reader.reason()}")
    else:
        offered = reader.exact(reader.exact(1)[0])
        if not offered:
            raise ProtocolError(f"server refused: {reader.reason()}")
        chosen = SECURITY_NONE if SECURITY_NONE in offered else offered[0]
        if chosen == SECURITY_NONE:
            sock.sendall(bytes([SECURITY_NONE]))
    if chosen != SECURITY_NONE:
        raise ProtocolError(f"server wants security type {chosen}, only None is supported")
    if minor == 8:  # 3.7 sends no SecurityResult for None
        (result,) = struct.unpack(">I", reader.exact(4))
        if result != 0:
            raise ProtocolError(f"security handshake failed: {reader.reason()}")


def initialise(sock: socket.socket, reader: Reader) -> tuple[int, int]:
    """ClientInit/ServerInit, then our pixel format and encodings; returns the screen size."""
    sock.sendall(b"\x01")  # shared: leave other viewers connected
    width, height = struct.unpack(">HH", reader.exact(4))
    reader.exact(16)  # the server's pixel format; we impose ours
    (name_length,) = struct.unpack(">I", reader.exact(4))
    reader.skip(name_length)
    sock.sendall(b"\x00\x00\x00\x00" + PIXEL_FORMAT)
    encodings = (ENCODING_RAW, ENCODING_DESKTOP_SIZE)
    sock.sendall(struct.pack(f">BxH{len(encodings)}i", 2, len(encodings), *encodings))
    return width, height


def request_update(sock: socket.socket, incremental: bool, size: tuple[int, int]) -> None:
    sock.sendall(struct.pack(">BBHHHH", 3, int(incremental), 0, 0, *size))


# Called for each Raw rectangle as (x, y, width, height); it must consume the rectangle's
# width * height * BYTES_PER_PIXEL bytes from the reader.
RawRect = Callable[[int, int, int, int], None]


def read_update(reader: Reader, size: tuple[int, int],
                raw_rect: RawRect) -> tuple[tuple[int, int], int]:
    """Reads server messages up to and including one FramebufferUpdate; returns the screen size,
    which a DesktopSize rectangle may have changed, and the update's rectangle count."""
    while True:
        kind = reader.exact(1)[0]
        if kind == 0:  # FramebufferUpdate
            break
        if kind == 1:  # SetColourMapEntries: u8 pad, u16 first, u16 count, then 6 bytes each
            _, count = struct.unpack(">xHH", reader.exact(5))
            reader.skip(6 * count)
        elif kind == 3:  # ServerCutText: 3 pad bytes, u32 length, text
            (length,) = struct.unpack(">xxxI", reader.exact(7))
            reader.skip(length)
        elif kind != 2:  # 2 is Bell, which has no body
            raise ProtocolError(f"unexpected server message type {kind}")
    (rects,) = struct.unpack(">xH", reader.exact(3))
    for _ in range(rects):
        x, y, width, height, encoding = struct.unpack(">HHHHi", reader.exact(12))
        if encoding == ENCODING_RAW:
            raw_rect(x, y, width, height)
        elif encoding == ENCODING_DESKTOP_SIZE:
            size = (width, height)
        else:
            raise ProtocolError(f"encoding {encoding} was not asked for")
    return size, rects


class Viewer:
    """A VNC viewer over TCP that keeps the framebuffer and sends input. Reads block, with
    `timeout` seconds per read so that a silent server fails the test instead of hanging it."""

    def __init__(self, host: str, port: int, timeout: float = 30):
        self._sock = socket.create_connection((host, port), timeout=timeout)
        self._reader = Reader(self._sock)
        negotiate_security(self._sock, self._reader)
        self.size = initialise(self._sock, self._reader)
        self._pixels = bytearray(self.size[0] * self.size[1] * BYTES_PER_PIXEL)

    def close(self) -> None:
        self._sock.close()

    def __enter__(self) -> "Viewer":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _store(self, x: int, y: int, width: int, height: int) -> None:
        data = self._reader.exact(width * height * BYTES_PER_PIXEL)
        stride, row = self.size[0] * BYTES_PER_PIXEL, width * BYTES_PER_PIXEL
        for line in range(height):
            start = (y + line) * stride + x * BYTES_PER_PIXEL
            self._pixels[start:start + row] = data[line * row:(line + 1) * row]

    def update(self, incremental: bool = True) -> int:
        """Asks for an update and reads it into the framebuffer; returns its rectangle count."""
        request_update(self._sock, incremental, self.size)
        size, rects = read_update(self._reader, self.size, self._store)
        if size != self.size:  # a new size: its picture comes with the next full update
            self.size = size
            self._pixels = bytearray(size[0] * size[1] * BYTES_PER_PIXEL)
        return rects

    def image(self) -> Image:
        """The framebuffer as RGB."""
        rgb = bytearray(len(self._pixels) // BYTES_PER_PIXEL * 3)
        rgb[0::3] = self._pixels[2::4]
        rgb[1::3] = self._pixels[1::4]
        rgb[2::3] = self._pixels[0::4]
        return Image(self.size[0], self.size[1], bytes(rgb))

    def key(self, keysym: int, down: bool) -> None:
        self._sock.sendall(struct.pack(">BBxxI", 4, int(down), keysym))

    def tap(self, keysym: int) -> None:
        self.key(keysym, True)
        self.key(keysym, False)

    def pointer(self, x: int, y: int, buttons: int = 0) -> None:
        self._sock.sendall(struct.pack(">BBHH", 5, buttons, x, y))
