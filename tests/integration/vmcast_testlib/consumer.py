"""Drive tests/tools/vmcast-frame-consumer, a real PipeWire video consumer, from pytest.

The tool prints one JSON object per line on stdout (see tests/tools/README.md). A reader thread
collects them here:

    with FrameConsumer(session, "vmcast.vm1.0", tmp_path / "latest.frame") as consumer:
        consumer.wait_pictures(3, timeout=30)
        img = consumer.latest_image()
        consumer.assert_no_bad_buffers()

`frames` holds every "frame" event (pictures and cursor-only buffers alike), `pictures` only those
with pixels, `formats` every negotiated "format" event. stdlib only.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Callable, Sequence

CONSUMER_BIN_ENV = "VMCAST_CONSUMER_BIN"

# Exit codes of vmcast-frame-consumer.
EXIT_OK = 0        # --frames reached, SIGINT/SIGTERM, or the --timeout run duration without --frames
EXIT_TIMEOUT = 1   # --timeout expired before --frames pictures arrived
EXIT_ERROR = 2     # usage error, PipeWire error, stream error, or linked to the wrong node


def _tail_text(path: Path | None, max_bytes: int = 2000) -> str:
    if path is None:
        return ""
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - max_bytes))
            return f.read().decode("utf-8", "replace")
    except OSError:
        return ""


class FrameConsumer:
    """One running vmcast-frame-consumer linked to the PipeWire node `target` (node.name or
    object.serial). `dump_path` (optional) receives the latest picture as a VMCASTFRAME file.
    `fmt` is the --format argument (BGRx, BGRA, RGBx, RGBA or any); `extra_args` are appended
    (e.g. ("--hold-buffers",), ("--dmabuf-first",), ("--frames", "5", "--timeout", "30"))."""

    def __init__(self, session: Any, target: str, dump_path: str | os.PathLike | None = None,
                 fmt: str = "BGRx", extra_args: Sequence[str] = (), *,
                 binary: str | os.PathLike | None = None):
        env = dict(getattr(session, "env", None) or os.environ)
        binary = binary or env.get(CONSUMER_BIN_ENV) or os.environ.get(CONSUMER_BIN_ENV)
        if not binary:
            raise RuntimeError(f"{CONSUMER_BIN_ENV} is not set: where is vmcast-frame-consumer?")
        self.target = target
        self.dump_path = Path(dump_path) if dump_path is not None else None
        self.argv = [str(binary), "--target", target, "--format", fmt]
        if self.dump_path is not None:
            self.argv += ["--dump-latest", str(self.dump_path)]
        self.argv += [str(a) for a in extra_args]

        self.events: list[dict] = []
        self.frames: list[dict] = []
        self.pictures: list[dict] = []
        self.formats: list[dict] = []
        self.bad_buffers: list[dict] = []
        self.errors: list[dict] = []
        self.links: list[dict] = []
        self.summary: dict | None = None
        self.noise: list[str] = []        # stdout lines that were not JSON (should stay empty)
        self._cond = threading.Condition()
        self._eof = False
        self._stdout_log: Path | None = None
        self._stderr_log: Path | None = None
        self._own_tmpdir: tempfile.TemporaryDirectory | None = None

        spawn = getattr(session, "spawn", None)
        if spawn is not None:
            # Session.spawn puts the child in its own process group, sends stderr to its log
            # directory and kills the child in Session.close().
            self.proc: subprocess.Popen = spawn(self.argv, stdout=subprocess.PIPE)
            log_name = getattr(self.proc, "log_name", None)
            log_path = getattr(session, "log_path", None)
            if log_name and log_path:
                self._stdout_log = Path(log_path(log_name, "stdout"))
                self._stderr_log = Path(log_path(log_name, "stderr"))
        else:
            self._own_tmpdir = tempfile.TemporaryDirectory(prefix="vmcast-consumer-")
            self._stderr_log = Path(self._own_tmpdir.name) / "stderr.log"
            with open(self._stderr_log, "wb") as stderr:
                self.proc = subprocess.Popen(self.argv, env=env, stdin=subprocess.DEVNULL,
                                             stdout=subprocess.PIPE, stderr=stderr,
                                             start_new_session=True)
        self._reader = threading.Thread(target=self._read_stdout, name=f"consumer:{target}",
                                        daemon=True)
        self._reader.start()

    # -- context manager ----------------------------------------------------------------------
    def __enter__(self) -> "FrameConsumer":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    # -- reading ------------------------------------------------------------------------------
    def _read_stdout(self) -> None:
        log = None
        if self._stdout_log is not None:
            try:
                log = open(self._stdout_log, "a", encoding="utf-8")
            except OSError:
                log = None
        try:
            assert self.proc.stdout is not None
            for raw in self.proc.stdout:
                line = raw.decode("utf-8", "replace").rstrip("\n")
                if log:
                    log.write(line + "\n")
                    log.flush()
                self._add_line(line)
        except (OSError, ValueError):
            pass  # the pipe was closed under us (Session.close)
        finally:
            if log:
                log.close()
            with self._cond:
                self._eof = True
                self._cond.notify_all()

    def _add_line(self, line: str) -> None:
        try:
            event = json.loads(line)
            if not isinstance(event, dict):
                raise ValueError("not an object")
        except ValueError:
            with self._cond:
                self.noise.append(line)
            return
        kind = event.get("event")
        lists = {"frame": self.frames, "format": self.formats, "bad-buffer": self.bad_buffers,
                 "error": self.errors, "link": self.links}
        with self._cond:
            self.events.append(event)
            if kind in lists:
                lists[kind].append(event)
            if kind == "frame" and event.get("picture"):
                self.pictures.append(event)
            if kind == "summary":
                self.summary = event
            self._cond.notify_all()

    # -- waiting ------------------------------------------------------------------------------
    @property
    def returncode(self) -> int | None:
        return self.proc.poll()

    def alive(self) -> bool:
        return self.proc.poll() is None

    def describe(self, n_events: int = 12) -> str:
        """Recent events, exit status and stderr tail, for assertion messages."""
        with self._cond:
            recent = self.events[-n_events:]
            counts = (len(self.frames), len(self.pictures), len(self.bad_buffers))
        lines = [f"vmcast-frame-consumer {' '.join(self.argv[1:])}",
                 f"exit status: {self.proc.poll()}; frames {counts[0]}, pictures {counts[1]}, "
                 f"bad buffers {counts[2]}"]
        lines += [json.dumps(e) for e in recent]
        if self.noise:
            lines.append(f"non-JSON stdout: {self.noise[-5:]!r}")
        stderr = _tail_text(self._stderr_log)
        if stderr.strip():
            lines.append("--- stderr ---\n" + stderr)
        return "\n".join(lines)

    def wait_until(self, predicate: Callable[[], Any], timeout: float = 30.0,
                   what: str = "condition") -> Any:
        """Wait until predicate() (evaluated under the lock) is truthy and return its value.
        Fails early, with the consumer's recent output, if the consumer has exited."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                value = predicate()
                if value:
                    return value
                if self._eof:
                    break
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what} "
                                         f"from {self.target}\n{self.describe()}")
                self._cond.wait(min(left, 0.5))
        # EOF: the tool exited; give it a moment to be reaped so the exit status is known.
        try:
            self.proc.wait(timeout=2)
        except subprocess.TimeoutExpired:
            pass
        raise AssertionError(f"vmcast-frame-consumer exited before {what} from {self.target}\n"
                             f"{self.describe()}")

    def wait_event(self, kind: str, timeout: float = 30.0,
                   match: Callable[[dict], bool] | None = None, start: int = 0) -> dict:
        """First event of type `kind` (from index `start` of .events) that satisfies `match`."""
        def find() -> dict | None:
            for event in self.events[start:]:
                if event.get("event") == kind and (match is None or match(event)):
                    return event
            return None
        return self.wait_until(find, timeout, what=f"a {kind!r} event")

    def wait_frames(self, n: int = 1, timeout: float = 30.0) -> list[dict]:
        """At least n "frame" events (any buffer, including cursor-only ones); returns them all."""
        return self.wait_until(lambda: list(self.frames) if len(self.frames) >= n else None,
                               timeout, what=f"{n} frame(s)")

    def wait_pictures(self, n: int = 1, timeout: float = 30.0) -> list[dict]:
        """At least n frames that carried pixels (and were dumped, if dump_path is set)."""
        return self.wait_until(lambda: list(self.pictures) if len(self.pictures) >= n else None,
                               timeout, what=f"{n} picture(s)")

    def wait_format(self, timeout: float = 30.0) -> dict:
        """The latest negotiated format event, waiting for the first one."""
        return self.wait_until(lambda: self.formats[-1] if self.formats else None, timeout,
                               what="a negotiated format")

    def wait_exit(self, timeout: float = 30.0) -> int:
        """Wait for the tool to exit by itself (e.g. with --frames) and return its exit code."""
        try:
            code = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"vmcast-frame-consumer still running after {timeout:.0f}s\n"
                                 f"{self.describe()}") from None
        self._reader.join(timeout=5)
        return code

    # -- results ------------------------------------------------------------------------------
    def latest_frame(self):
        """(Image, header dict) of the latest dumped picture, via images.read_vmcast_frame."""
        if self.dump_path is None:
            raise RuntimeError("FrameConsumer was started without a dump path")
        from .images import read_vmcast_frame  # lazy: keeps this module importable on its own
        result = read_vmcast_frame(self.dump_path)
        if isinstance(result, tuple):
            return result
        return result, {}

    def latest_image(self):
        """The latest dumped picture as an images.Image (width, height, rgb)."""
        return self.latest_frame()[0]

    def assert_no_bad_buffers(self) -> None:
        with self._cond:
            bad = list(self.bad_buffers)
        if bad:
            raise AssertionError(f"{len(bad)} bad buffer(s) from {self.target}: "
                                 f"{[b.get('reason') for b in bad[:10]]}\n{self.describe()}")

    def assert_no_errors(self) -> None:
        with self._cond:
            errors = list(self.errors)
        if errors:
            raise AssertionError(f"consumer errors from {self.target}: "
                                 f"{[e.get('message') for e in errors]}\n{self.describe()}")

    # -- stopping -----------------------------------------------------------------------------
    def stop(self, timeout: float = 10.0) -> int:
        """SIGTERM (the tool prints its summary and exits 0), SIGKILL if it hangs; returns the
        exit code (-9 if killed). Safe to call more than once."""
        if self.proc.poll() is None:
            try:
                self.proc.send_signal(signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    self.proc.kill()
                self.proc.wait(timeout=5)
        self._reader.join(timeout=5)
        if self._own_tmpdir is not None and not self._reader.is_alive():
            if self.proc.stdout:
                self.proc.stdout.close()
        return self.proc.returncode
