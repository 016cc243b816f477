"""The camera test page (tests/web/camera-page.html) in the real browsers: a small HTTP server on
loopback that serves it and takes the page's reports, and the page in Chromium (driven by
playwright-core, see browser.py) or in Firefox ESR.

Why Firefox reports over HTTP: playwright-core drives only its own patched Firefox builds, not
Debian's Firefox ESR, and Marionette would need a client library Debian does not package. So the
page POSTs its state and picture to this server every half second.
"""
from __future__ import annotations

import base64
import http.server
import json
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import urllib.parse
from pathlib import Path

import pytest

from .browser import WEB_TEST_DIR, Browser
from .images import Image, read_png

PAGE = WEB_TEST_DIR / "camera-page.html"
CHROMIUM_CAMERA_ARGS = ("--use-fake-ui-for-media-stream", "--enable-features=WebRtcPipeWireCamera")
FIREFOX = "firefox-esr"
FIREFOX_PREFS = {
    "media.webrtc.camera.allow-pipewire": True,   # false in Debian's build
    "media.navigator.permission.disabled": True,  # no permission prompt
    # Nothing of a first start: no welcome page, no default-browser question, no telemetry.
    "browser.shell.checkDefaultBrowser": False,
    "browser.aboutwelcome.enabled": False,
    "browser.startup.homepage_override.mstone": "ignore",
    "datareporting.policy.dataSubmissionEnabled": False,
    "toolkit.telemetry.reportingpolicy.firstRun": False,
    "app.update.disabledForTesting": True,
}


def picture_from_data_url(data_url: str) -> Image:
    png = base64.b64decode(data_url.split(",", 1)[1])
    with tempfile.NamedTemporaryFile(suffix=".png") as f:
        f.write(png)
        f.flush()
        return read_png(f.name)


class CameraPageServer:
    """Serves the page at /camera.html; POST /report/NAME stores page NAME's latest report."""

    def __init__(self):
        self._lock = threading.Lock()
        self._reports: dict[str, dict] = {}
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                if urllib.parse.urlsplit(self.path).path != "/camera.html":
                    self.send_error(404)
                    return
                self._answer("text/html", PAGE.read_bytes())

            def do_POST(self):
                name = self.path.removeprefix("/report/")
                length = int(self.headers.get("Content-Length", "0"))
                report = json.loads(self.rfile.read(length))
                with server._lock:
                    server._reports[name] = report
                self._answer("application/json", b"{}")

            def _answer(self, content_type: str, body: bytes) -> None:
                self.send_response(200)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:  # the test's output is not a web log
                pass

        self._http = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._http.serve_forever, daemon=True)
        self._thread.start()

    def url(self, label: str, report_as: str | None = None) -> str:
        query = {"label": label, **({"report": f"/report/{report_as}"} if report_as else {})}
        return (f"http://127.0.0.1:{self._http.server_address[1]}/camera.html?"
                f"{urllib.parse.urlencode(query)}")

    def report(self, name: str) -> dict | None:
        with self._lock:
            return self._reports.get(name)

    def close(self) -> None:
        self._http.shutdown()
        self._http.server_close()
        self._thread.join()

    def __enter__(self) -> "CameraPageServer":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class ChromiumCameraPage:
    """The page in Chromium with PipeWire cameras on, reaching the session's portal."""

    def __init__(self, session, server: CameraPageServer, label: str, log_path: Path):
        self._browser = Browser(log_path, CHROMIUM_CAMERA_ARGS, env=session.env)
        self._browser.open("camera", server.url(label))

    def eval(self, expression: str):
        return self._browser.eval("camera", expression)

    def state(self) -> dict:
        return self.eval("window.camera.state")

    def picture(self) -> Image | None:
        data_url = self._browser.eval("camera", "window.camera.picture()")
        return picture_from_data_url(data_url) if self.state()["framesDrawn"] else None

    def close_camera(self) -> None:
        self._browser.eval("camera", "window.camera.close()")

    def open_camera(self) -> None:
        self._browser.eval("camera", "window.camera.open()")

    def close(self) -> None:
        self._browser.close()


class FirefoxCameraPage:
    """The page in headless Firefox ESR with a fresh profile, reaching the session's portal; it
    reports to the server as "firefox"."""

    def __init__(self, session, server: CameraPageServer, label: str, profile: Path):
        if not shutil.which(FIREFOX):
            pytest.fail(f"{FIREFOX} is not installed (scripts/install-deps.sh installs it)")
        profile.mkdir(parents=True, exist_ok=True)
        (profile / "user.js").write_text("".join(
            f"user_pref({json.dumps(k)}, {json.dumps(v)});\n" for k, v in FIREFOX_PREFS.items()))
        self._server = server
        self._proc = session.spawn([FIREFOX, "--headless", "--no-remote", "--profile",
                                    str(profile), server.url(label, report_as="firefox")],
                                   name="firefox")

    def state(self) -> dict | None:
        assert self._proc.poll() is None, f"Firefox exited with status {self._proc.returncode}"
        report = self._server.report("firefox")
        return report["state"] if report else None

    def picture(self) -> Image | None:
        report = self._server.report("firefox")
        return picture_from_data_url(report["picture"]) if report and report["picture"] else None

    def close(self) -> None:
        # Firefox's content processes are in its process group (session.spawn made one).
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(self._proc.pid, sig)
                self._proc.wait(timeout=10)
                return
            except ProcessLookupError:
                return
            except subprocess.TimeoutExpired:
                continue
