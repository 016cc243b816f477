"""Images for pixel comparisons: PPM (QEMU screendump), PNG (vmcast screenshot) and the
VMCASTFRAME dumps written by the test consumer, all decoded to packed 8-bit RGB (stdlib only)."""
from __future__ import annotations

import math
import os
import struct
import zlib
from dataclasses import dataclass
from typing import NamedTuple


@dataclass
class Image:
    width: int
    height: int
    rgb: bytes                   # width * height * 3 bytes, R,G,B, rows top to bottom
    alpha: bytes | None = None   # width * height bytes if the source had alpha (BGRA, RGBA PNG)
    header: dict | None = None   # VMCASTFRAME dumps: {"width", "height", "format", "seq"}

    def __post_init__(self) -> None:
        if len(self.rgb) != self.width * self.height * 3:
            raise ValueError(f"rgb has {len(self.rgb)} bytes, expected "
                             f"{self.width}x{self.height}x3 = {self.width * self.height * 3}")

    @property
    def size(self) -> tuple[int, int]:
        return (self.width, self.height)

    def pixel(self, x: int, y: int) -> tuple[int, int, int]:
        i = (y * self.width + x) * 3
        return (self.rgb[i], self.rgb[i + 1], self.rgb[i + 2])

    def is_uniform(self) -> bool:
        """True if every pixel has the same colour (e.g. an all-black screen)."""
        return len(self.rgb) == 0 or self.rgb == self.rgb[:3] * (self.width * self.height)

    def __repr__(self) -> str:  # never dump megabytes of pixels into a pytest report
        return f"Image({self.width}x{self.height})"


def read_ppm(path: str | os.PathLike) -> Image:
    """Binary PPM (P6, maxval 255), as QEMU's `screendump` writes it."""
    with open(path, "rb") as f:
        data = f.read()
    fields: list[bytes] = []
    pos = 0
    while len(fields) < 4:  # magic, width, height, maxval; '#' comments allowed in between
        while pos < len(data) and data[pos:pos + 1].isspace():
            pos += 1
        if data[pos:pos + 1] == b"#":
            pos = data.index(b"\n", pos) + 1
            continue
        start = pos
        while pos < len(data) and not data[pos:pos + 1].isspace():
            pos += 1
        fields.append(data[start:pos])
    pos += 1  # exactly one whitespace byte before the raster
    if fields[0] != b"P6" or fields[3] != b"255":
        raise ValueError(f"{path}: not an 8-bit binary PPM ({fields[0]!r}, maxval {fields[3]!r})")
    width, height = int(fields[1]), int(fields[2])
    raster = data[pos:pos + width * height * 3]
    if len(raster) != width * height * 3:
        raise ValueError(f"{path}: truncated PPM ({len(raster)} of {width * height * 3} bytes)")
    return Image(width, height, bytes(raster))


def write_ppm(img: Image, path: str | os.PathLike) -> None:
    """Save an image (for failure artefacts; any image viewer opens PPM)."""
    with open(path, "wb") as f:
        f.write(b"P6\n%d %d\n255\n" % (img.width, img.height))
        f.write(img.rgb)


def read_raw_bytes(data: bytes, width: int, height: int, order: str) -> Image:
    """Packed 4-byte pixels in `order` ('BGRx', 'BGRA', 'RGBA') -> Image. Slicing keeps it fast."""
    n = width * height
    if len(data) < n * 4:
        raise ValueError(f"pixel data has {len(data)} bytes, expected {width}x{height}x4 = {n * 4}")
    data = data[:n * 4]
    rgb = bytearray(n * 3)
    idx = {c: order.index(c) for c in "RGB"}
    rgb[0::3] = data[idx["R"]::4]
    rgb[1::3] = data[idx["G"]::4]
    rgb[2::3] = data[idx["B"]::4]
    alpha = bytes(data[order.index("A")::4]) if "A" in order else None
    return Image(width, height, bytes(rgb), alpha)


def read_raw_frame(path: str | os.PathLike, width: int, height: int, order: str) -> Image:
    """width*height packed 4-byte pixels in `order` (BGRx, BGRA, RGBx, RGBA), as GStreamer's
    filesink writes raw video; img.alpha holds the alpha bytes of an order with A."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) != width * height * 4:
        raise ValueError(f"{path}: {len(data)} bytes, expected {width}x{height}x4")
    return read_raw_bytes(data, width, height, order)


def read_vmcast_frame(path: str | os.PathLike) -> Image:
    """A frame dumped by vmcast-frame-consumer: the ASCII line
    `VMCASTFRAME <width> <height> <BGRx|BGRA|RGBx|RGBA> <seq>\\n`, then width*height*4 bytes.
    Returns the picture as RGB; img.header has width, height, format and seq."""
    with open(path, "rb") as f:
        data = f.read()
    nl = data.find(b"\n")
    if nl < 0 or not data.startswith(b"VMCASTFRAME "):
        raise ValueError(f"{path}: not a VMCASTFRAME file")
    parts = data[:nl].decode("ascii").split()
    if len(parts) != 5 or parts[3] not in ("BGRx", "BGRA", "RGBx", "RGBA"):
        raise ValueError(f"{path}: bad VMCASTFRAME header {data[:nl]!r}")
    header = {"width": int(parts[1]), "height": int(parts[2]), "format": parts[3],
              "seq": int(parts[4])}
    img = read_raw_bytes(data[nl + 1:], header["width"], header["height"], header["format"])
    img.header = header
    return img


def _paeth(a: int, b: int, c: int) -> int:
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    return b if pb <= pc else c


def read_png(path: str | os.PathLike) -> Image:
    """Decode an 8-bit, non-interlaced RGB or RGBA PNG (what vmcast writes with libpng)."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError(f"{path}: not a PNG")
    pos, idat, ihdr = 8, [], None
    while pos < len(data):
        length, ctype = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if zlib.crc32(ctype + body) != struct.unpack(">I", data[pos + 8 + length:pos + 12 + length])[0]:
            raise ValueError(f"{path}: CRC error in {ctype!r} chunk")
        if ctype == b"IHDR":
            ihdr = struct.unpack(">IIBBBBB", body)
        elif ctype == b"IDAT":
            idat.append(body)
        elif ctype == b"IEND":
            break
        pos += 12 + length
    if ihdr is None:
        raise ValueError(f"{path}: no IHDR")
    width, height, depth, ctype_, _, _, interlace = ihdr
    if depth != 8 or ctype_ not in (2, 6) or interlace != 0:
        raise ValueError(f"{path}: unsupported PNG (depth {depth}, colour type {ctype_}, "
                         f"interlace {interlace}); only 8-bit RGB/RGBA non-interlaced")
    bpp = 3 if ctype_ == 2 else 4
    stride = width * bpp
    raw = zlib.decompress(b"".join(idat))
    if len(raw) != height * (stride + 1):
        raise ValueError(f"{path}: image data is {len(raw)} bytes, expected {height * (stride + 1)}")
    out = bytearray(height * stride)
    prev = bytearray(stride)
    for y in range(height):
        ftype = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        if ftype == 0:
            pass
        elif ftype == 1:  # Sub
            for i in range(bpp, stride):
                line[i] = (line[i] + line[i - bpp]) & 0xFF
        elif ftype == 2:  # Up
            line = bytearray((a + b) & 0xFF for a, b in zip(line, prev))
        elif ftype == 3:  # Average
            for i in range(stride):
                left = line[i - bpp] if i >= bpp else 0
                line[i] = (line[i] + ((left + prev[i]) >> 1)) & 0xFF
        elif ftype == 4:  # Paeth
            for i in range(stride):
                if i >= bpp:
                    line[i] = (line[i] + _paeth(line[i - bpp], prev[i], prev[i - bpp])) & 0xFF
                else:
                    line[i] = (line[i] + prev[i]) & 0xFF
        else:
            raise ValueError(f"{path}: bad filter type {ftype} on row {y}")
        out[y * stride:(y + 1) * stride] = line
        prev = line
    if bpp == 3:
        return Image(width, height, bytes(out))
    return read_raw_bytes(bytes(out), width, height, "RGBA")


class Comparison(NamedTuple):
    equal: bool
    differing_pixels: int
    max_channel_diff: int
    first_diff: tuple[int, int] | None

    def describe(self, a: Image, b: Image) -> str:
        if a.size != b.size:
            return f"size differs: {a.width}x{a.height} vs {b.width}x{b.height}"
        if self.equal:
            return f"equal ({a.width}x{a.height})"
        x, y = self.first_diff  # type: ignore[misc]
        return (f"{self.differing_pixels} of {a.width * a.height} pixels differ, max channel "
                f"diff {self.max_channel_diff}, first at ({x},{y}): {a.pixel(x, y)} vs "
                f"{b.pixel(x, y)}, PSNR {psnr(a, b):.1f} dB")


def compare(a: Image, b: Image) -> Comparison:
    """Exact RGB comparison (alpha ignored). Different sizes never compare equal."""
    if a.size != b.size:
        return Comparison(False, max(a.width * a.height, b.width * b.height), 255, (0, 0))
    if a.rgb == b.rgb:
        return Comparison(True, 0, 0, None)
    row = a.width * 3
    differing, max_diff, first = 0, 0, None
    for y in range(a.height):
        ra, rb = a.rgb[y * row:(y + 1) * row], b.rgb[y * row:(y + 1) * row]
        if ra == rb:  # most rows match: skip them at C speed
            continue
        for x in range(a.width):
            pa, pb = ra[x * 3:x * 3 + 3], rb[x * 3:x * 3 + 3]
            if pa != pb:
                differing += 1
                max_diff = max(max_diff, *(abs(p - q) for p, q in zip(pa, pb)))
                if first is None:
                    first = (x, y)
    return Comparison(False, differing, max_diff, first)


def psnr(a: Image, b: Image) -> float:
    """Peak signal-to-noise ratio in dB over RGB; inf if equal, 0 if sizes differ."""
    if a.size != b.size:
        return 0.0
    if a.rgb == b.rgb:
        return math.inf
    sq = sum((p - q) * (p - q) for p, q in zip(a.rgb, b.rgb))
    mse = sq / len(a.rgb)
    return 10 * math.log10(255 * 255 / mse)
