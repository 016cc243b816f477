"""The VM's sound in the page, with the fake QEMU peer as the VM (its Audio protocol) and
vmcast's own page in headless Chromium over loopback, as in web_latency.py.

- Audio latency, peer to page: the peer plays BURSTS bursts of 1 kHz (BURST_MS long, level
  0.5), each after SILENCE_MS of silence written as QEMU writes an enabled voice's (the stream
  never stops); `audio-tone` says when each burst's first sample was due (onset_us,
  CLOCK_MONOTONIC; it leaves with the next 10 ms Write, as in QEMU). In the page a ScriptProcessorNode (256 frames) on the received audio track notes
  when a burst's first loud sample (over 0.05) reached Web Audio: the block's time less the
  samples after it. Both clocks are this machine's. This is the whole way: D-Bus, vmcast's
  Opus encoder and RTP, Chromium's jitter buffer (NetEq) and decoder.
- The page's CPU: Chromium's (all its processes) while the peer streams the busy 1080p screen
  at 30 fps (web_latency's), with the page open and unmuted, without sound and with the peer
  playing a tone throughout; the difference is what the sound costs the page. vmcast's CPU is
  given for both too.
"""
from __future__ import annotations

import os
import time
from pathlib import Path

from rig import Tools, stop_process
from web_latency import FPS, HEIGHT, STREAM_SECONDS, WIDTH, busy_stream, start, summary
from vmcast_testlib.browser import Browser

BURSTS = 30
BURST_MS = 150
SILENCE_MS = 850
TONE_HZ = 1000

# window.bench.onsets: epoch ms at which each burst's first loud sample reached Web Audio.
ONSET_PROBE = """(async () => {
  const receiver = window.vmcast.peer().getReceivers().find((r) => r.track.kind === 'audio');
  const context = new AudioContext();
  await context.resume();
  const source = context.createMediaStreamSource(new MediaStream([receiver.track]));
  const processor = context.createScriptProcessor(256, 1, 1);
  const onsets = [];
  let loud = false;
  window.bench = { onsets };
  processor.onaudioprocess = (event) => {
    const now = performance.timeOrigin + performance.now();
    const samples = event.inputBuffer.getChannelData(0);
    let first = -1;
    for (let i = 0; i < samples.length; i++) if (Math.abs(samples[i]) > 0.05) { first = i; break; }
    if (first >= 0 && !loud)
      onsets.push(now - (samples.length - first) * 1000 / context.sampleRate);
    if (first >= 0) loud = true;
    else loud = false;
  };
  source.connect(processor);
  processor.connect(context.destination);
  return context.sampleRate;
})()"""


# The page's audio receive counters (getStats, inbound audio).
AUDIO_STATS = """(async () => { let found = {};
  (await window.vmcast.peer().getStats()).forEach((s) => {
    if (s.type === 'inbound-rtp' && s.kind === 'audio') found = s; });
  return { jitterBuffer: found.jitterBufferDelay || 0,
           emitted: found.jitterBufferEmittedCount || 0 }; })()"""


def chromium_cpu_ns(root_pid: int) -> int:
    """CPU time (user + system) of every process under root_pid: the driver's Chromium."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(entry))
    total, todo = 0, list(children.get(root_pid, []))
    ticks = os.sysconf("SC_CLK_TCK")
    while todo:
        pid = todo.pop()
        todo += children.get(pid, [])
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) * 1_000_000_000 // ticks
    return total


def latency_rows(browser: Browser, peer) -> list[dict]:
    """Bursts from the peer, each onset found by the page: their latencies, and the misses."""
    epoch_offset_ns = time.time_ns() - time.monotonic_ns()
    latencies, misses = [], 0
    for _ in range(BURSTS):
        seen = len(browser.eval("p", "window.bench.onsets"))
        # Silence first, as QEMU writes it while the guest's voice is on: the stream never stops.
        result = peer.command(f"audio-tone stream=1 freq={TONE_HZ} level=0.5 silence_ms="
                              f"{SILENCE_MS} duration={BURST_MS / 1000}", timeout=10, check=True)
        started = (result["onset_us"] * 1000 + epoch_offset_ns) / 1e6
        time.sleep(0.3)  # the burst's way to the page
        onsets = [t for t in browser.eval("p", "window.bench.onsets")[seen:] if t >= started]
        if onsets:
            latencies.append(onsets[0] - started)
        else:
            misses += 1
    stats = browser.eval("p", AUDIO_STATS)
    return [summary("audio: peer's tone to the page's Web Audio", latencies),
            {"measurement": "audio: hop in the page: jitter buffer (mean per sample)",
             "p50": stats["jitterBuffer"] * 1000 / max(stats["emitted"], 1), "p95": None,
             "n": stats["emitted"], "unit": "ms"},
            {"measurement": "audio: bursts the page did not hear within 0.45 s", "p50": misses,
             "p95": None, "n": BURSTS, "unit": "bursts"}]


def cpu_rows(session, browser: Browser, peer, vmcast, with_sound: bool) -> list[dict]:
    label = "with sound" if with_sound else "without sound"
    if with_sound:
        peer.command(f"audio-tone stream=1 freq={TONE_HZ} level=0.5 "
                     f"duration={STREAM_SECONDS + 5} wait=0", timeout=10, check=True)
    page_before = chromium_cpu_ns(browser.proc.pid)
    used = busy_stream(peer, vmcast, Path(session.tmpdir) / f"audio-stamps-{with_sound}.txt")
    page_used = chromium_cpu_ns(browser.proc.pid) - page_before
    if with_sound:
        peer.command("audio-stop", timeout=10, check=True)
    n = STREAM_SECONDS * FPS
    return [{"measurement": f"page (Chromium) CPU (mean), busy {WIDTH}×{HEIGHT} at {FPS} fps, "
                            f"{label}", "p50": page_used / 1e9 / STREAM_SECONDS * 100,
             "p95": None, "n": n, "unit": "% of a core"},
            {"measurement": f"vmcast CPU (mean), same, {label}",
             "p50": used.cpu_ns / 1e9 / STREAM_SECONDS * 100, "p95": None, "n": n,
             "unit": "% of a core"}]


def audio_rows(session, tools: Tools, log) -> list[dict]:
    peer, vmcast, url = start(session, tools, "h264", "audiobench", peer_args=("--audio",))
    rows: list[dict] = []
    try:
        peer.command("wait-audio-listener timeout=20", timeout=25, check=True)
        peer.command("audio-init stream=1 bits=16 rate=48000 channels=2", timeout=10,
                     check=True)
        with Browser(session.log_path("browser-audio", "stderr")) as browser:
            browser.open("p", url)
            browser.wait_decoding("p", timeout=60)
            browser.call("click-element", page="p", selector="button.mute")  # unmuted
            # The audio track exists once the session is up; it carries sound from the first
            # Write on.
            peer.command(f"audio-tone stream=1 freq={TONE_HZ} level=0.5 duration=0.5",
                         timeout=10, check=True)
            browser.eval("p", ONSET_PROBE)
            rows += latency_rows(browser, peer)
            rows += cpu_rows(session, browser, peer, vmcast, with_sound=False)
            rows += cpu_rows(session, browser, peer, vmcast, with_sound=True)
    finally:
        stop_process(vmcast)
        peer.stop()
    for row in rows:
        log(row)
    return rows
