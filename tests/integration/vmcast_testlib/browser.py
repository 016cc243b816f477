"""Headless Chromium driven through tests/web/browser-driver.mjs (playwright-core from npm,
Debian's /usr/bin/chromium): one process, several pages, one JSON command per call."""
from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Sequence

import pytest

from .images import Image, read_png
from .util import wait_for

WEB_TEST_DIR = Path(__file__).resolve().parents[2] / "web"


def browser_available() -> str | None:
    """Why the browser tests cannot run here, or None."""
    if not shutil.which("node"):
        return "node is not installed"
    if not Path(os.environ.get("VMCAST_CHROMIUM", "/usr/bin/chromium")).exists():
        return "chromium is not installed (scripts/install-deps.sh installs it)"
    if not (WEB_TEST_DIR / "node_modules" / "playwright-core").is_dir():
        return "playwright-core is missing: npm ci --prefix tests/web"
    return None


def fake_microphone_args(wav: Path) -> list[str]:
    """Chromium flags for a Browser whose microphone plays wav (looped) and whose permission
    prompts are answered yes."""
    return ["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
            f"--use-file-for-fake-audio-capture={wav}"]


class Browser:
    """chromium_args are added to Chromium's; env is the driver's and Chromium's environment
    (default: this process's)."""

    def __init__(self, log_path: Path, chromium_args: Sequence[str] = (),
                 env: dict[str, str] | None = None):
        reason = browser_available()
        if reason:
            pytest.fail(f"browser tests need Chromium and playwright-core: {reason}")
        self._log = open(log_path, "w")
        self.proc = subprocess.Popen(["node", str(WEB_TEST_DIR / "browser-driver.mjs"),
                                      *chromium_args],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=self._log, text=True, cwd=WEB_TEST_DIR, env=env)

    def call(self, cmd: str, **args) -> dict:
        assert self.proc.poll() is None, "the browser driver exited"
        self.proc.stdin.write(json.dumps({"cmd": cmd, **args}) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        assert line, "the browser driver exited"
        answer = json.loads(line)
        if not answer["ok"]:
            raise RuntimeError(f"browser {cmd}: {answer['error']}")
        return answer

    def open(self, page: str, url: str, lossy: bool = False) -> None:
        """lossy: the page's media goes through the driver's lossy relay (the "loss" command)."""
        self.call("open", page=page, url=url, lossy=lossy)

    def state(self, page: str) -> dict:
        return self.call("state", page=page)["state"]

    def click_element(self, page: str, selector: str) -> None:
        """A person's click on the element selector names."""
        self.call("activate", page=page, selector=selector)

    def eval(self, page: str, script: str):
        return self.call("eval", page=page, script=script).get("value")

    def frame(self, page: str) -> Image:
        data_url = self.call("frame", page=page)["png"]
        png = base64.b64decode(data_url.split(",", 1)[1])
        with tempfile.NamedTemporaryFile(suffix=".png") as f:
            f.write(png)
            f.flush()
            return read_png(f.name)

    def wait_decoding(self, page: str, timeout: float = 30, more_than: int = 0) -> dict:
        """Waits until the page has decoded more than more_than frames; its state."""
        return wait_for(lambda: (lambda s: s if s["framesDecoded"] > more_than else None)(
            self.state(page)), timeout, 0.25, what=f"page {page} decoding video")

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                self.proc.stdin.close()
                self.proc.wait(timeout=10)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()
        self._log.close()

    def __enter__(self) -> "Browser":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
