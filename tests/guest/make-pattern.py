#!/usr/bin/python3
"""Generate the deterministic test pattern drawn by the test guest in `pattern` mode.

Writes the raw framebuffer bytes for a 1024x768, 24 bpp VESA mode (B,G,R per pixel, tight
3072-byte lines, as the kernel's vesafb exposes /dev/fb0 for vga=0x318) and, optionally, the same
picture as a binary PPM (R,G,B) so tests can compare screendumps against the exact expectation.

Every channel carries different information (R from x, G from y, B from both), so a red/blue swap,
an off-by-one line or a wrong stride all show up as pixel differences.

Usage: make-pattern.py FB_OUT [PPM_OUT]
"""
import sys

WIDTH, HEIGHT = 1024, 768

# Eight vertical colour bars across the top band: distinct, saturated, easy to spot by eye.
BARS = [(255, 255, 255), (255, 255, 0), (0, 255, 255), (0, 255, 0),
        (255, 0, 255), (255, 0, 0), (0, 0, 255), (0, 0, 0)]


def pixel(x: int, y: int) -> tuple[int, int, int]:
    """RGB of pixel (x, y). Kept in one place so the PPM and the framebuffer agree."""
    if y < 192:
        return BARS[x * len(BARS) // WIDTH]
    if y < 384:
        # Gradients: red follows x, green follows y, blue a checkerboard of 16 px cells.
        return (x & 0xFF, (y * 3) & 0xFF, 0xC0 if ((x >> 4) ^ (y >> 4)) & 1 else 0x30)
    # A hashed noise-like area: catches any single-pixel misplacement.
    h = (x * 2654435761 + y * 40503 + (x * y) * 97) & 0xFFFFFFFF
    return ((h >> 24) & 0xFF, (h >> 16) & 0xFF, (h >> 8) & 0xFF)


def main() -> int:
    if len(sys.argv) not in (2, 3):
        print(__doc__, file=sys.stderr)
        return 2
    fb = bytearray(WIDTH * HEIGHT * 3)
    rgb = bytearray(WIDTH * HEIGHT * 3)
    i = 0
    for y in range(HEIGHT):
        for x in range(WIDTH):
            r, g, b = pixel(x, y)
            fb[i], fb[i + 1], fb[i + 2] = b, g, r
            rgb[i], rgb[i + 1], rgb[i + 2] = r, g, b
            i += 3
    with open(sys.argv[1], "wb") as f:
        f.write(fb)
    if len(sys.argv) == 3:
        with open(sys.argv[2], "wb") as f:
            f.write(b"P6\n%d %d\n255\n" % (WIDTH, HEIGHT))
            f.write(rgb)
    return 0


if __name__ == "__main__":
    sys.exit(main())
