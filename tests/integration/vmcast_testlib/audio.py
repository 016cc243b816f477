"""The VM's sound as a PipeWire consumer hears it: pw-record on vmcast's audio node, and the
amplitude of a tone at one frequency (Goertzel), stdlib only; a sine written as a WAV file (a
browser's fake microphone)."""
from __future__ import annotations

import math
import signal
import struct
import wave
from pathlib import Path

from .util import wait_for


class AudioRecording:
    """pw-record of a node into a 16-bit WAV file, from start to stop()."""

    def __init__(self, session, node: str, path: Path, rate: int = 48000, channels: int = 2):
        self.session = session
        self.path = path
        self.rate = rate
        self.channels = channels
        self.proc = session.spawn(["pw-record", "--target", node, "--rate", str(rate),
                                   "--channels", str(channels), "--format", "s16", str(path)],
                                  name="pw-record")

    def wait_linked(self, node_id: int, timeout: float = 15) -> None:
        """Waits until a link from the node (its PipeWire id) exists: the recording hears it."""
        def linked() -> bool:
            assert self.proc.poll() is None, f"pw-record exited ({self.proc.returncode})"
            return any(o.get("type") == "PipeWire:Interface:Link"
                       and (o.get("info") or {}).get("output-node-id") == node_id
                       for o in self.session.pw_dump())
        wait_for(linked, timeout, 0.2, what="pw-record linked to the audio node")

    def stop(self) -> list[list[float]]:
        """Ends the recording; its samples per channel, from -1 to 1."""
        self.proc.send_signal(signal.SIGINT)
        self.proc.wait(timeout=10)
        with wave.open(str(self.path), "rb") as recorded:
            assert recorded.getsampwidth() == 2, recorded.getsampwidth()
            channels = recorded.getnchannels()
            frames = recorded.readframes(recorded.getnframes())
        values = memoryview(frames).cast("h")
        return [[v / 32768.0 for v in values[c::channels]] for c in range(channels)]

    def __enter__(self) -> "AudioRecording":
        return self

    def __exit__(self, *exc) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)


def loud_part(samples: list[float], rate: int, threshold: float = 0.01) -> list[float]:
    """The longest run of 10 ms windows whose RMS is over threshold (the tone, without the
    silence around it), less one window at each end (its onset and end)."""
    window = rate // 100
    best = (0, 0)
    start = None
    count = len(samples) // window
    for i in range(count + 1):
        loud = False
        if i < count:
            chunk = samples[i * window:(i + 1) * window]
            loud = math.sqrt(sum(v * v for v in chunk) / window) > threshold
        if loud and start is None:
            start = i
        elif not loud and start is not None:
            if i - start > best[1] - best[0]:
                best = (start, i)
            start = None
    first, last = best[0] + 1, best[1] - 1
    return samples[first * window:last * window] if last > first else []


def amplitude_at(samples: list[float], rate: int, freq: float) -> float:
    """The amplitude of the sine at freq in samples (Goertzel over whole periods)."""
    n = int(len(samples) // (rate / freq) * (rate / freq))
    if n == 0:
        return 0.0
    coeff = 2 * math.cos(2 * math.pi * freq / rate)
    s1 = s2 = 0.0
    for v in samples[:n]:
        s1, s2 = v + coeff * s1 - s2, s1
    power = s1 * s1 + s2 * s2 - coeff * s1 * s2
    return 2 * math.sqrt(max(power, 0.0)) / n


def block_amplitude(samples: list[float], rate: int, freq: float, block_s: float = 0.1) -> float:
    """The median of amplitude_at over blocks of block_s: a gap (a consumer's cycle late on a
    loaded machine) shifts the phase and spoils only the blocks around it."""
    size = int(rate * block_s)
    amplitudes = sorted(amplitude_at(samples[i:i + size], rate, freq)
                        for i in range(0, len(samples) - size + 1, size))
    return amplitudes[len(amplitudes) // 2] if amplitudes else 0.0


def rms(samples: list[float]) -> float:
    return math.sqrt(sum(v * v for v in samples) / len(samples)) if samples else 0.0


def write_sine_wav(path: Path, freq: float = 440.0, amplitude: float = 0.5, rate: int = 48000,
                   seconds: float = 10.0) -> None:
    """A mono 16-bit WAV of a sine that starts and ends at zero, so that it loops cleanly when
    its length holds whole periods (10 s of 440 Hz does)."""
    count = int(rate * seconds)
    samples = (round(amplitude * 32767 * math.sin(2 * math.pi * freq * i / rate))
               for i in range(count))
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(struct.pack(f"<{count}h", *samples))
