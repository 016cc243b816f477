"""Test library for vmcast's integration tests: real dbus-daemon, PipeWire, WirePlumber and QEMU.

Modules: env (Session), qemu (Qemu, QMP), images (Image, readers, compare), util (wait_for);
consumer (FrameConsumer) and fake_qemu are maintained separately.
"""
from .env import Session
from .images import Image, compare, psnr, read_png, read_ppm, read_vmcast_frame, write_ppm
from .qemu import QMP, QMPError, Qemu, guest_append
from .util import (MEASURABLE_HEAP_ENV, free_port, process_usage, tail, uses_address_sanitizer,
                   wait_for)

__all__ = ["Session", "Image", "compare", "psnr", "read_png", "read_ppm", "read_vmcast_frame",
           "write_ppm", "QMP", "QMPError", "Qemu", "guest_append", "MEASURABLE_HEAP_ENV", "free_port",
           "process_usage", "tail", "uses_address_sanitizer", "wait_for"]
