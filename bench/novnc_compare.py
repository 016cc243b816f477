"""vmcast's page against noVNC, the usual browser VM console, in the same run: the test guest
driven from the same headless Chromium, through QEMU's VNC server + websockify + noVNC 1.3
(Debian's, Tight encoding) and through QEMU's D-Bus display + vmcast + its page.

- Key to pixel: the guest in "keyflip" mode flips the top 64 rows of its screen between white
  and black on every key typed on its console. A key pressed in the page (its keydown time)
  counts until the page shows the flipped pixel: the decoded video frame in vmcast's page
  (requestVideoFrameCallback), the canvas in noVNC's (polled every animation frame).
- A busy screen: the guest in "scroll" mode scrolls lines of text as fast as its console draws
  them. For STREAM_SECONDS: the bytes to the browser (vmcast: the RTP the page received, from
  its WebRTC stats; noVNC: the bytes the kernel acknowledged on websockify's connections to the
  browser, `ss`), and the host CPU of the display path: QEMU outside its vCPU threads (the
  guest's own work), plus websockify, or plus vmcast and PipeWire.

Each path gets a fresh QEMU per workload, and nothing of one path runs while the other is
measured."""
from __future__ import annotations

import re
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

if __name__ == "__main__":  # run by hand: find the test library as bench/vmcast_bench.py does
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "integration"))

import procstat  # noqa: E402
from frame_path import percentile  # noqa: E402
from rig import Tools, stop_process  # noqa: E402
from vmcast_testlib import Qemu, free_port, guest_append, wait_for  # noqa: E402
from vmcast_testlib.browser import Browser  # noqa: E402

KEY_PRESSES = 30
STREAM_SECONDS = 10
BOOT_TIMEOUT = 120
VCPU_THREADS = ("CPU ",)  # TCG names its vCPU threads "CPU 0/TCG"
NOVNC_DIR = "/usr/share/novnc"
VMCAST_PATH = "QEMU D-Bus → vmcast → its page"
NOVNC_PATH = "QEMU VNC → websockify → noVNC 1.3"

# The pixel (32, 32) of what the page shows: [white?, ms since the epoch] at each change, and
# the keydown times. vmcast's page: each decoded video frame; noVNC's: its canvas each frame.
PROBE = """(source) => {
  const canvas = document.createElement('canvas');
  canvas.width = 1; canvas.height = 1;
  const context = canvas.getContext('2d', { willReadFrequently: true });
  const changes = [];
  const keys = [];
  window.bench = { changes, keys };
  addEventListener('keydown', (e) => keys.push(performance.timeOrigin + e.timeStamp), true);
  let last = null;
  const look = (element, when) => {
    context.drawImage(element, 32, 32, 1, 1, 0, 0, 1, 1);
    const white = context.getImageData(0, 0, 1, 1).data[1] > 128;
    if (white !== last) changes.push([white, when]);
    last = white;
  };
  if (source === 'video') {
    const video = document.getElementById('screen');
    const onFrame = (now, meta) => {
      look(video, performance.timeOrigin + meta.presentationTime);
      video.requestVideoFrameCallback(onFrame);
    };
    look(video, performance.timeOrigin + performance.now()); // a still screen sends no frame
    video.requestVideoFrameCallback(onFrame);
  } else {
    const onFrame = () => {
      const shown = document.querySelector('#screen canvas');
      if (shown) look(shown, performance.timeOrigin + performance.now());
      requestAnimationFrame(onFrame);
    };
    requestAnimationFrame(onFrame);
  }
  return true;
}"""

WEBRTC_BYTES = """(async () => { let bytes = 0;
  (await window.vmcast.peer().getStats()).forEach((s) => {
    if (s.type === 'inbound-rtp') bytes += (s.bytesReceived || 0) + (s.headerBytesReceived || 0);
  });
  return bytes; })()"""


def process_group(leader: int) -> list[int]:
    """The processes of the group the session started leader in (its forks included)."""
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == leader:  # pgrp, after the state and the parent's pid
            members.append(int(stat.parent.name))
    return members


def free_vnc_display() -> int:
    """A VNC display number (port 5900 + N) nothing listens on."""
    for display in range(10, 100):
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", 5900 + display))
            except OSError:
                continue
            return display
    raise AssertionError("no free VNC display between 10 and 99")


def boot(session, tools: Tools, name: str, mode: str, display: str,
         extra_args: list[str]) -> Qemu:
    qemu = Qemu(session, name, kernel=str(tools.guest_dir / "vmlinuz"),
                initrd=str(tools.guest_dir / "initrd.img"), append=guest_append(mode),
                display=display,
                # QEMU names its threads only when asked to; a second -name is merged.
                extra_args=["-name", f"{name},debug-threads=on", *extra_args]).start()
    qemu.wait_serial(f"VMCAST-GUEST: ready mode={mode}", BOOT_TIMEOUT)
    return qemu


class Path_:
    """One way to the browser: started for a guest, then measured, then stopped."""

    def __init__(self, session, tools: Tools, browser: Browser, name: str):
        self.session, self.tools, self.browser, self.name = session, tools, browser, name
        self.helpers = []   # processes this path started: vmcast, or websockify
        self.measured = []  # processes whose CPU counts besides QEMU's: those, and PipeWire

    def open(self, qemu: Qemu) -> None:
        raise NotImplementedError

    def bytes_received(self) -> int:
        raise NotImplementedError

    def display_path_cpu(self, qemu: Qemu) -> procstat.ProcSample:
        total = procstat.sample(qemu.proc.pid, skip_threads=VCPU_THREADS)
        for process in self.measured:
            for pid in process_group(process.pid):
                total = total + procstat.sample(pid)
        return total

    def close(self) -> None:
        try:
            self.browser.call("close", page=self.name)
        except RuntimeError:
            pass  # it never opened: the failure that stopped it says why
        for process in self.helpers:
            stop_process(process)
        self.helpers = self.measured = []


class VmcastPage(Path_):
    focus = "#stage"

    def open(self, qemu: Qemu) -> None:
        port = free_port()
        token = "novnc-comparison-token-0123"
        token_file = Path(self.session.tmpdir) / "bench-tokens"
        token_file.write_text(token + "\n")
        vmcast = self.session.spawn([self.tools.vmcast, "--vm", qemu.name, "run", "--web",
                                     f"127.0.0.1:{port}", "--web-token-file", str(token_file),
                                     "--cursor", "hidden"], name="vmcast-novnc")
        self.helpers = [vmcast]
        self.measured = [vmcast, *[p for p in self.session.procs
                                   if getattr(p, "log_name", "") == "pipewire"]]
        url = f"http://127.0.0.1:{port}/?vm={urllib.parse.quote(qemu.name)}&token={token}"
        wait_for(lambda: vmcast.poll() is None and self._served(url), 30, 0.3,
                 what="vmcast serving its page")
        self.browser.open(self.name, url)
        self.browser.wait_decoding(self.name, timeout=60)
        self.browser.eval(self.name, f"({PROBE})('video')")

    @staticmethod
    def _served(url: str) -> bool:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                return response.status == 200
        except OSError:
            return False

    def bytes_received(self) -> int:
        return int(self.browser.eval(self.name, WEBRTC_BYTES))


class NoVncPage(Path_):
    focus = "#screen canvas"

    def open(self, qemu: Qemu) -> None:
        port = self.port = free_port()
        websockify = self.session.spawn(["websockify", "--web", NOVNC_DIR, f"127.0.0.1:{port}",
                                         f"127.0.0.1:{qemu.vnc_port}"], name="websockify")
        self.helpers = self.measured = [websockify]
        wait_for(lambda: websockify.poll() is None and VmcastPage._served(
            f"http://127.0.0.1:{port}/vnc_lite.html"), 30, 0.3, what="websockify serving noVNC")
        self.browser.open(self.name, f"http://127.0.0.1:{port}/vnc_lite.html")
        wait_for(lambda: self.browser.eval(
            self.name, "document.getElementById('status').textContent.startsWith('Connected')"),
            30, 0.3, what="noVNC connected")
        self.browser.eval(self.name, f"({PROBE})('canvas')")

    def bytes_received(self) -> int:
        # What the kernel has acknowledged on websockify's connections to the browser.
        listing = subprocess.run(["ss", "-tinH", "state", "established", f"sport = :{self.port}"],
                                 capture_output=True, text=True, check=True).stdout
        return sum(int(n) for n in re.findall(r"bytes_acked:(\d+)", listing))


def key_to_pixel(path: Path_) -> tuple[list[float], int]:
    """Latencies of the presses whose flip the page showed, and how many showed none in 3 s."""
    browser, page = path.browser, path.name
    # The page shows black (the guest's start); each press flips it.
    wait_for(lambda: browser.eval(page, "window.bench.changes.length") > 0, 30, 0.2,
             what=f"{page} showing the guest")
    latencies, misses = [], 0
    for press in range(KEY_PRESSES):
        seen = browser.eval(page, "window.bench.changes.length")
        showing = browser.eval(page, "window.bench.changes.at(-1)[0]")
        browser.call("press", page=page, keys="KeyA", focus=path.focus)
        try:
            flipped = wait_for(lambda: [t for white, t in browser.eval(
                page, "window.bench.changes")[seen:] if white != showing], 3, 0.02,
                what="the flip in the page")
        except AssertionError:
            misses += 1
            # Resynchronise: the next press flips whatever the guest shows by then.
            time.sleep(1)
            continue
        pressed = browser.eval(page, "window.bench.keys")[-1]
        latencies.append(flipped[0] - pressed)
        time.sleep(0.2)
    return latencies, misses


def busy_screen(path: Path_, qemu: Qemu) -> tuple[float, float]:
    """kB/s the browser received and display-path CPU (% of a core) on the scrolling screen."""
    time.sleep(2)  # past the first full picture
    bytes_before, cpu_before = path.bytes_received(), path.display_path_cpu(qemu)
    time.sleep(STREAM_SECONDS)
    received = path.bytes_received() - bytes_before
    used = path.display_path_cpu(qemu) - cpu_before
    return received / STREAM_SECONDS / 1000, used.cpu_ns / 1e9 / STREAM_SECONDS * 100


def measure(session, tools: Tools, browser: Browser, kind, label: str, log) -> dict:
    row = {"path": label}
    for mode in ("keyflip", "scroll"):
        path = kind(session, tools, browser, f"{kind.__name__}-{mode}")
        if kind is NoVncPage:
            display = free_vnc_display()
            qemu = boot(session, tools, f"novnc-{mode}", mode, "none",
                        ["-vnc", f"127.0.0.1:{display}"])
            qemu.vnc_port = 5900 + display
        else:
            qemu = boot(session, tools, f"vmcast-{mode}", mode, "dbus", [])
        try:
            path.open(qemu)
            if mode == "keyflip":
                latencies, misses = key_to_pixel(path)
                row.update(key_p50_ms=percentile(latencies, 0.5),
                           key_p95_ms=percentile(latencies, 0.95), key_misses=misses)
            else:
                row["busy_kB_per_s"], row["busy_cpu_percent"] = busy_screen(path, qemu)
        finally:
            path.close()
            qemu.quit()
        log(f"  {label}, {mode}: {row}")
    return row


def comparison_rows(session, tools: Tools, log) -> list[dict]:
    log_path = Path(session.log_dir) / "novnc-browser.log"
    with Browser(log_path) as browser:
        return [measure(session, tools, browser, NoVncPage, NOVNC_PATH, log),
                measure(session, tools, browser, VmcastPage, VMCAST_PATH, log)]


def markdown(machine: str, rows: list[dict]) -> str:
    lines = [f"Measured {machine}: the test guest in headless Chromium, through each path in "
             f"turn (`bench/novnc_compare.py` says how each number is taken).", "",
             "| path | key to pixel p50 ms | p95 ms | presses with no picture in 3 s | busy "
             "screen: kB/s to the browser | busy screen: display path, % of a core |",
             "|---:|---:|---:|---:|---:|---:|"]
    for row in rows:
        lines.append(f"| {row['path']} | {row['key_p50_ms']:.1f} | {row['key_p95_ms']:.1f} | "
                     f"{row['key_misses']} | {row['busy_kB_per_s']:.0f} | "
                     f"{row['busy_cpu_percent']:.1f} |")
    return "\n".join(lines) + "\n"
