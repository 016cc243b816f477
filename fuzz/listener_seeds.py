#!/usr/bin/python3
"""Writes the seed corpus of fuzz/listener.cpp into fuzz/corpus/listener: calls as QEMU makes
them, encoded the way FuzzedDataProvider reads them (integers from the end of the input, byte
strings from its front)."""
import os

X8R8G8B8 = 0x20020888  # pixman, as Scanout and Update carry it
A8R8G8B8 = 0x20028888
XR24 = 0x34325258  # DRM fourcc, as the DMA-BUF calls carry it
MAX_MEMFD = 4 << 20
MAX_PLANES = 5
W, H = 16, 12  # the pictures: small, so the seeds are
STEPS = ['Scanout', 'Update', 'ScanoutMap', 'UpdateMap', 'ShrinkMap', 'ScanoutDmabuf',
         'ScanoutDmabuf2', 'UpdateDmabuf', 'CursorDefine', 'MouseSet', 'Disable', 'ConsoleSize']


class Input:
    def __init__(self):
        self.front = b''
        self.back = []  # bytes in the order they are consumed from the end
        self.console_size(W, H)  # every input starts with the console's size

    def integral(self, value, size):
        # The first byte consumed is the most significant.
        self.back += list(value.to_bytes(size, 'big'))

    def u32(self, *values):
        for value in values:
            self.integral(value & 0xffffffff, 4)

    def i32(self, *values):
        self.u32(*values)  # the target reads the bits as unsigned

    def in_range(self, value, maximum):
        size = (maximum.bit_length() + 7) // 8  # none for a range of one value
        self.integral(value, size)

    def step(self, name):
        self.in_range(STEPS.index(name), len(STEPS) - 1)

    def bytes(self, data, maximum=MAX_MEMFD):
        self.in_range(len(data), maximum)
        self.front += data

    def memfd(self, size, contents):
        self.in_range(size, MAX_MEMFD)
        self.in_range(len(contents), size)
        self.front += contents

    def console_size(self, width, height):
        self.integral(width, 2)
        self.integral(height, 2)

    def encoded(self):
        return self.front + bytes(reversed(self.back))


def pixels(width, height, seed):
    return bytes((x * 7 + y * 13 + seed) & 0xff for y in range(height) for x in range(width * 4))


def scanout_update():
    data = Input()
    data.step('Scanout')
    data.u32(W, H, W * 4, X8R8G8B8)
    data.bytes(pixels(W, H, 0))
    data.step('Update')
    data.i32(4, 4, 8, 8)
    data.u32(8 * 4, X8R8G8B8)
    data.bytes(pixels(8, 8, 1))
    return data


def scanout_map_update_map():
    data = Input()
    data.step('ScanoutMap')
    data.memfd(W * H * 4, pixels(W, 2, 2))
    data.u32(0, W, H, W * 4, X8R8G8B8)
    return update_whole_map(data)


def scanout_map_shrunk():
    data = scanout_map_update_map()
    data.step('ShrinkMap')
    data.in_range(4096, MAX_MEMFD)
    return update_whole_map(data)


def update_whole_map(data):
    data.step('UpdateMap')
    data.i32(0, 0, W, H)
    return data


def dmabuf2_one_plane():
    data = Input()
    data.step('ScanoutDmabuf2')
    data.in_range(1, MAX_PLANES)
    data.memfd(W * H * 4, pixels(W, 2, 3))
    data.u32(0, 0, W, H)  # the visible part
    for array in ([0], [W * 4]):  # offsets, strides
        data.in_range(len(array), MAX_PLANES)
        data.u32(*array)
    data.u32(1, XR24, W, H)  # planes, fourcc, backing size
    data.integral(0, 8)  # LINEAR
    data.integral(1, 1)  # y0_top
    data.step('UpdateDmabuf')
    data.i32(0, 0, W // 2, H // 2)
    return data


def dmabuf_legacy():
    data = Input()
    data.step('ScanoutDmabuf')
    data.memfd(W * H * 4, pixels(W, 2, 4))
    data.u32(W, H, W * 4, XR24)
    data.integral(0x00ffffffffffffff, 8)  # implicit modifier
    data.integral(0, 1)
    data.step('UpdateDmabuf')
    data.i32(0, 0, W, H)
    data.step('Disable')
    return data


def cursor_define(data, size, image):
    data.step('CursorDefine')
    data.i32(size, size, 1, 1)
    data.bytes(image)
    return data


def cursor_define_mouse_set():
    data = cursor_define(scanout_update(), 8, pixels(8, 8, 5))
    data.step('MouseSet')
    data.i32(10, 10, 1)
    return data


def cursor_data_short():
    """A cursor image with less data than its size needs: refused."""
    return cursor_define(Input(), 64, pixels(2, 2, 7))


def text_mode_switch():
    """QEMU 7.2's VGA text mode: a new console size, then an update past the old picture."""
    data = scanout_update()
    data.step('ConsoleSize')
    data.console_size(2 * W, 2 * H)
    data.step('Update')
    data.i32(0, 0, 2 * W, 2 * H)
    data.u32(2 * W * 4, A8R8G8B8)
    data.bytes(pixels(2 * W, 2 * H, 6))
    return data


SEEDS = [scanout_update, scanout_map_update_map, scanout_map_shrunk, dmabuf2_one_plane,
         dmabuf_legacy, cursor_define_mouse_set, cursor_data_short, text_mode_switch]

if __name__ == '__main__':
    corpus = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'corpus', 'listener')
    os.makedirs(corpus, exist_ok=True)
    for seed in SEEDS:
        name = 'seed-' + seed.__name__.replace('_', '-')
        with open(os.path.join(corpus, name), 'wb') as out:
            out.write(seed().encoded())
