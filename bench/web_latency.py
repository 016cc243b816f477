"""The web page's latency and the publisher's CPU at 1920x1080, with the fake QEMU peer as the VM
and vmcast's own page in headless Chromium (as in the tests) over loopback.

- Capture to decoded: the peer streams a busy screen (a terminal scrolling a line per frame,
  full-frame damage) at 30 fps with each frame's seq drawn as 16 black or white blocks
  (`stream stamp=blocks`) and notes when each frame left it (CLOCK_MONOTONIC). The page reads
  the blocks back from every decoded frame (requestVideoFrameCallback, its presentationTime:
  decoded and handed to the compositor). Both clocks are this machine's. The page shows fewer
  frames than it decodes when its compositor is slower than the stream; the page's own
  counters (getStats) give frames decoded, RTP packets lost and time frozen.
- Key to pixel: a key pressed in the page (Playwright, its keydown time) reaches the peer as
  Keyboard.Press; the bench then has the peer turn the stamp area white or black, and the page
  notes the first decoded frame showing it. This includes the bench's own reaction to the
  peer's key event (reading a line, writing a command: about a millisecond), as a guest's
  reaction would be included.
- CPU: vmcast's (the bridge and the publisher in one process) during the busy stream, without a
  viewer and with one; the difference is the publisher's cost (encoding, RTP, WebRTC).
- Hops, where the capture-to-decoded time goes: inside vmcast, GStreamer's latency tracer times
  each element of the encoder pipeline per buffer (`GST_TRACERS=latency(flags=element+pipeline)`:
  the encoder, the payloader, and the whole way from the appsrc to the network sink; the colour
  conversion to I420 happens before the appsrc, in vmcast's reader); in the page, getStats gives the mean time per frame in the jitter buffer, in the
  decoder, and from a frame's first packet to its decoding. The way from the peer to the
  encoder's appsrc (the `Update` over D-Bus, compositing, PipeWire) is the frame path's latency,
  measured in its own table.
"""
from __future__ import annotations

import re
import time
from pathlib import Path

import procstat
from frame_path import percentile
from rig import Tools, stop_process
from vmcast_testlib import free_port, wait_for
from vmcast_testlib.browser import Browser
from vmcast_testlib.fake_qemu import FakeQemu

WIDTH, HEIGHT, FPS = 1920, 1080, 30
STREAM_SECONDS = 10
KEY_PRESSES = 40

# Reads the block stamp of every frame of the page's video element VIDEO_ID; records [seq,
# presented ms since the epoch] in window.bench.seen (and the keydown times in .keys).
STAMP_PROBE = """(() => {
  const video = document.getElementById('VIDEO_ID');
  const canvas = document.createElement('canvas');
  canvas.width = 256; canvas.height = 16;
  const context = canvas.getContext('2d', { willReadFrequently: true });
  const seen = [];
  const keys = [];
  window.bench = { seen, keys };
  addEventListener('keydown', (e) => keys.push(performance.timeOrigin + e.timeStamp), true);
  let last = -1;
  const onFrame = (now, meta) => {
    context.drawImage(video, 0, 0, 256, 16, 0, 0, 256, 16);
    const pixels = context.getImageData(0, 0, 256, 16).data;
    let seq = 0;
    for (let bit = 0; bit < 16; bit++)
      if (pixels[(8 * 256 + bit * 16 + 8) * 4 + 1] > 128) seq |= 1 << bit;
    if (seq !== last) seen.push([seq, performance.timeOrigin + meta.presentationTime]);
    last = seq;
    video.requestVideoFrameCallback(onFrame);
  };
  video.requestVideoFrameCallback(onFrame);
  return true;
})()"""


# The page's own receive counters (RTCPeerConnection.getStats, inbound video).
INBOUND_STATS = """(async () => { let found = {};
  (await window.vmcast.peer().getStats()).forEach((s) => {
    if (s.type === 'inbound-rtp' && s.kind === 'video') found = s; });
  return { decoded: found.framesDecoded || 0, lost: found.packetsLost || 0,
           received: found.packetsReceived || 0, freezes: found.totalFreezesDuration || 0,
           jitterBuffer: found.jitterBufferDelay || 0,
           jitterEmitted: found.jitterBufferEmittedCount || 0,
           decodeTime: found.totalDecodeTime || 0,
           processing: found.totalProcessingDelay || 0 }; })()"""

# vmcast's encoder pipeline, timed by GStreamer's latency tracer (its lines go to stderr).
TRACER_ENV = {"GST_TRACERS": "latency(flags=element+pipeline)", "GST_DEBUG": "GST_TRACER:7",
              "GST_DEBUG_NO_COLOR": "1"}
ELEMENT_LATENCY = re.compile(r"element-latency, .*?element=\(string\)([^,]+), "
                             r"src=\(string\)[^,]+, time=\(guint64\)(\d+)")
PIPELINE_LATENCY = re.compile(r"\blatency, .*?src-element=\(string\)source, .*?"
                              r"sink-element=\(string\)(viewer-\d+), .*?time=\(guint64\)(\d+)")
# The encoder pipeline's elements by their factory names, as the tracer names them.
HOP_NAMES = [("encoder", "encoder (x264enc)"), ("payloader", "RTP payloader")]


def summary(name: str, values: list[float], unit: str = "ms") -> dict:
    return {"measurement": name, "p50": percentile(values, 0.5),
            "p95": percentile(values, 0.95), "n": len(values), "unit": unit}


def read_send_times(path) -> dict[int, float]:
    """seq (low 16 bits) -> when the peer sent it, in ms since the epoch."""
    offset_ns = time.time_ns() - time.monotonic_ns()
    times = {}
    for line in path.read_text().split("\n"):
        if line.strip():
            seq, sent_ns = (int(v) for v in line.split())
            times[seq & 0xffff] = (sent_ns + offset_ns) / 1e6
    return times


def tracer_hops(stderr_path: Path) -> list[dict]:
    """The encoder pipeline's hops from the latency tracer's lines, in ms per buffer."""
    by_element: dict[str, list[float]] = {}
    whole: list[float] = []
    for line in stderr_path.read_text(errors="replace").splitlines():
        if match := ELEMENT_LATENCY.search(line):
            by_element.setdefault(match[1], []).append(int(match[2]) / 1e6)
        elif match := PIPELINE_LATENCY.search(line):
            whole.append(int(match[2]) / 1e6)
    rows = []
    for prefix, title in HOP_NAMES:
        times = [t for name, values in by_element.items() if name.startswith(prefix)
                 for t in values]
        rows.append(summary(f"hop in vmcast, traced: {title}", times))
    rows.append(summary("hop in vmcast, traced: appsrc to the viewer's webrtcbin (the whole "
                        "encoder pipeline)", whole))
    return rows


def page_hops(before: dict, after: dict) -> list[dict]:
    """Mean ms per frame in the page's jitter buffer, decoder, and first packet to decoded."""
    frames = max(after["decoded"] - before["decoded"], 1)
    emitted = max(after["jitterEmitted"] - before["jitterEmitted"], 1)

    def mean(name: str, seconds: float, count: int) -> dict:
        return {"measurement": f"hop in the page: {name} (mean per frame)",
                "p50": seconds * 1000 / count, "p95": None, "n": count, "unit": "ms"}
    return [mean("jitter buffer", after["jitterBuffer"] - before["jitterBuffer"], emitted),
            mean("decoding", after["decodeTime"] - before["decodeTime"], frames),
            mean("first packet to decoded", after["processing"] - before["processing"], frames)]


def busy_stream(peer: FakeQemu, vmcast, stamps_path) -> procstat.ProcSample:
    """Streams the busy screen; vmcast's CPU over it."""
    before = procstat.sample(vmcast.pid)
    peer.command(f"stream region=scroll stamp=blocks rate={FPS} duration={STREAM_SECONDS} "
                 f"stamps={stamps_path}", timeout=STREAM_SECONDS + 30, check=True)
    return procstat.sample(vmcast.pid) - before


def cpu_row(name: str, used: procstat.ProcSample) -> dict:
    return {"measurement": name, "p50": used.cpu_ns / 1e9 / STREAM_SECONDS * 100,
            "p95": None, "n": STREAM_SECONDS * FPS, "unit": "% of a core"}


def key_to_pixel(browser: Browser, peer: FakeQemu) -> tuple[list[float], int]:
    """Latencies of the presses whose picture came, and how many got none within 3 s."""
    latencies, misses = [], 0
    for press in range(KEY_PRESSES):
        white = press % 2 == 0
        seen_before = browser.eval("p", "window.bench.seen.length")
        mark = peer.mark()
        browser.call("press", page="p", keys="KeyA")
        peer.wait_event("key", 10, since=mark,
                        predicate=lambda e: e["keycode"] == 0x1e and e["action"] == "press")
        colour = "ffffff" if white else "000000"
        peer.command(f"update x=0 y=0 width=256 height=16 pattern=solid:{colour}",
                     timeout=10, check=True)
        wanted = 0xffff if white else 0
        try:
            shown = wait_for(lambda: [t for seq, t in browser.eval(
                "p", "window.bench.seen")[seen_before:] if seq == wanted], 3, 0.02,
                what="the key's picture in the page")
        except AssertionError:
            misses += 1
            continue
        pressed = browser.eval("p", "window.bench.keys")[-1]
        latencies.append(shown[0] - pressed)
        time.sleep(0.1)
    return latencies, misses


def start(session, tools: Tools, codec: str, name: str, env: dict | None = None,
          peer_args: tuple[str, ...] = ()):
    """The peer showing a 1080p console and vmcast serving its page: (peer, vmcast, url)."""
    port = free_port()
    peer = FakeQemu(session.env, name=name, version="7.2", extra_args=peer_args)
    vmcast = session.spawn([tools.vmcast, "run", "--web", f"127.0.0.1:{port}", "--web-codec",
                            codec, "--cursor", "hidden"], name=f"vmcast-{name}-{codec}", env=env)
    try:
        peer.wait_listener(timeout=20)
        peer.command(f"scanout width={WIDTH} height={HEIGHT} pattern=gradient", timeout=20,
                     check=True)
        stdout = session.log_path(vmcast.log_name, "stdout")
        url = wait_for(lambda: next((line.split(" at ", 1)[1] for line in
                                     stdout.read_text().splitlines()
                                     if line.startswith("vmcast: watch VM")), None), 20,
                       what="vmcast's page address")
    except BaseException:
        stop_process(vmcast)
        peer.stop()
        raise
    return peer, vmcast, url


def web_rows(session, tools: Tools, log, codec: str = "h264") -> list[dict]:
    peer, vmcast, url = start(session, tools, codec, "webbench")
    rows = []
    try:
        stamps = Path(session.tmpdir) / f"web-stamps-{codec}.txt"
        bridge = busy_stream(peer, vmcast, stamps)
        rows.append(cpu_row(f"vmcast CPU (mean), busy {WIDTH}×{HEIGHT} at {FPS} fps, no viewer",
                            bridge))
        with Browser(session.log_path(f"browser-{codec}", "stderr")) as browser:
            browser.open("p", url)
            browser.wait_decoding("p", timeout=60)
            browser.eval("p", STAMP_PROBE.replace("VIDEO_ID", "screen"))
            before = browser.eval("p", INBOUND_STATS)
            watched = busy_stream(peer, vmcast, stamps)
            time.sleep(1)  # the last frames' way to the page
            after = browser.eval("p", INBOUND_STATS)
            rows.append(cpu_row(f"vmcast CPU (mean), same, one viewer ({codec})", watched))
            sent = read_send_times(stamps)
            seen = browser.eval("p", "window.bench.seen")
            capture = [t - sent[seq] for seq, t in seen if seq in sent and t >= sent[seq]]
            rows.append(summary(f"capture to decoded, busy {WIDTH}×{HEIGHT} ({codec})", capture))
            rows.append({"measurement": "busy screen: frames the page decoded (n: sent)",
                         "p50": after["decoded"] - before["decoded"], "p95": None,
                         "n": len(sent), "unit": "frames"})
            rows.append({"measurement": "busy screen: frames the page showed (n: sent)",
                         "p50": len(capture), "p95": None, "n": len(sent), "unit": "frames"})
            rows.append({"measurement": "busy screen: RTP packets lost (n: received)",
                         "p50": after["lost"] - before["lost"], "p95": None,
                         "n": after["received"] - before["received"], "unit": "packets"})
            rows.append({"measurement": "busy screen: page frozen (freezes, summed)",
                         "p50": (after["freezes"] - before["freezes"]) * 1000, "p95": None,
                         "n": 1, "unit": "ms"})
            rows += page_hops(before, after)
            latencies, misses = key_to_pixel(browser, peer)
            rows.append(summary(f"key to pixel, still {WIDTH}×{HEIGHT} ({codec})", latencies))
            rows.append({"measurement": "key presses with no picture within 3 s",
                         "p50": misses, "p95": None, "n": KEY_PRESSES, "unit": "presses"})
    finally:
        stop_process(vmcast)
        peer.stop()
    rows += encoder_hops(session, tools, codec)
    for row in rows:
        log(row)
    return rows


def encoder_hops(session, tools: Tools, codec: str) -> list[dict]:
    """The busy stream once more with GStreamer's latency tracer in vmcast, on its own: the
    tracer's logging slows the pipeline down, so the other rows are measured without it."""
    peer, vmcast, url = start(session, tools, codec, "webhops", env=TRACER_ENV)
    try:
        with Browser(session.log_path(f"browser-hops-{codec}", "stderr")) as browser:
            browser.open("p", url)
            browser.wait_decoding("p", timeout=60)
            busy_stream(peer, vmcast, Path(session.tmpdir) / f"web-hops-{codec}.txt")
    finally:
        stop_process(vmcast)
        peer.stop()
    return tracer_hops(session.log_path(vmcast.log_name, "stderr"))
