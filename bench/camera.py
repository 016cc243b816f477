"""The camera node (`vmcast run --camera`) at 1920x1080 and 30 fps, with the fake QEMU peer as the
VM: what it costs vmcast, and how late the picture reaches a browser's canvas through it.

- CPU: vmcast's, while the peer streams a busy screen (a terminal scrolling a line per frame,
  full-frame damage) at 30 fps for STREAM_SECONDS: without --camera; with it and nobody on the
  camera (what a camera nobody uses costs); with one camera consumer (GStreamer's pipewiresrc
  into a fakesink). And on a still screen with one camera consumer: the fixed rate's cost when
  nothing changes.
- Send to canvas: the peer draws each frame's seq as 16 black or white blocks (`stamp=blocks`)
  and notes when the frame left it (CLOCK_MONOTONIC); headless Chromium opens the console's camera
  through the real Camera portal (tests/web/camera-page.html) and reads the blocks back from
  each frame it draws to a canvas (requestVideoFrameCallback's presentationTime). Both clocks
  are this machine's.
"""
from __future__ import annotations

import time
from pathlib import Path

import procstat
import report
from rig import Tools, stop_process
from web_latency import STAMP_PROBE, read_send_times, summary
from vmcast_testlib import wait_for
from vmcast_testlib.camera_page import CameraPageServer, ChromiumCameraPage
from vmcast_testlib.camera_portal import CameraPortal
from vmcast_testlib.fake_qemu import FakeQemu

WIDTH, HEIGHT, FPS = 1920, 1080, 30
STREAM_SECONDS = 10
VM = "cambench"
CAMERA_NODE = f"vmcast.{VM}.0.camera"
LABEL = f"VM {VM}, console 0 (VGA)"


def cpu_row(name: str, used: procstat.ProcSample, frames: int | None = None) -> dict:
    """vmcast's mean CPU; n: the frames the peer sent meanwhile (fewer than FPS a second when the
    machine cannot keep up), or the seconds of a still screen."""
    return {"measurement": name, "p50": used.cpu_ns / 1e9 / STREAM_SECONDS * 100,
            "p95": None, "n": STREAM_SECONDS if frames is None else frames,
            "unit": "% of a core"}


class Rig:
    """The peer showing a 1080p console, and vmcast streaming it (with camera_args)."""

    def __init__(self, session, tools: Tools, camera_args: list[str]):
        self.session = session
        self.peer = FakeQemu(session.env, name=VM, version="7.2")
        self.vmcast = session.spawn([tools.vmcast, "run", "--cursor", "hidden", *camera_args],
                                    name=f"vmcast-{VM}")
        self.peer.wait_listener(timeout=20)
        self.peer.command(f"scanout width={WIDTH} height={HEIGHT} pattern=gradient", timeout=20,
                          check=True)
        wait_for(lambda: session.find_node(f"vmcast.{VM}.0"), 20, what="the screen node")
        if camera_args:
            wait_for(lambda: session.find_node(CAMERA_NODE), 20, what="the camera node")

    def busy(self, stamps: Path) -> tuple[procstat.ProcSample, int]:
        """vmcast's CPU over the busy stream, and the frames the peer sent."""
        stamps.unlink(missing_ok=True)  # the peer's stamps of this stream only
        before = procstat.sample(self.vmcast.pid)
        self.peer.command(f"stream region=scroll stamp=blocks rate={FPS} "
                          f"duration={STREAM_SECONDS} stamps={stamps}",
                          timeout=STREAM_SECONDS + 30, check=True)
        return procstat.sample(self.vmcast.pid) - before, len(read_send_times(stamps))

    def still(self) -> procstat.ProcSample:
        before = procstat.sample(self.vmcast.pid)
        time.sleep(STREAM_SECONDS)
        return procstat.sample(self.vmcast.pid) - before

    def close(self) -> None:
        stop_process(self.vmcast)
        self.peer.stop()


def cpu_rows(session, tools: Tools, log) -> list[dict]:
    stamps = Path(session.tmpdir) / "camera-cpu-stamps.txt"
    rows = []
    rig = Rig(session, tools, [])
    try:
        rows.append(cpu_row(f"vmcast CPU, busy {WIDTH}×{HEIGHT} at {FPS} fps, no --camera",
                            *rig.busy(stamps)))
    finally:
        rig.close()
    rig = Rig(session, tools, ["--camera"])
    consumer = None
    try:
        rows.append(cpu_row("same, --camera, nobody on the camera", *rig.busy(stamps)))
        consumer = session.spawn(["gst-launch-1.0", "-q", "pipewiresrc",
                                  f"target-object={CAMERA_NODE}", "!", "video/x-raw", "!",
                                  "fakesink"], name="camera-consumer")
        time.sleep(2)  # linked and streaming
        rows.append(cpu_row("same, one camera consumer (pipewiresrc)", *rig.busy(stamps)))
        rows.append(cpu_row(f"still {WIDTH}×{HEIGHT} screen, one camera consumer", rig.still()))
    finally:
        if consumer is not None:
            stop_process(consumer)
        rig.close()
    for row in rows:
        log(row)
    return rows


def canvas_rows(session, tools: Tools, log) -> list[dict]:
    portal = CameraPortal(session)
    portal.start_backends()
    rig = Rig(session, tools, ["--camera", "--camera-fps", str(FPS)])
    rows = []
    try:
        portal.start()  # after the camera node: 1.16 counts cameras only at its start
        with CameraPageServer() as server:
            page = ChromiumCameraPage(session, server, LABEL,
                                      session.log_path("camera-bench-chromium", "stderr"))
            try:
                wait_for(lambda: page.state()["phase"] == "open" and page.state()["framesDrawn"],
                         60, 0.5, what="the page showing the camera")
                page.eval(STAMP_PROBE.replace("VIDEO_ID", "camera"))
                stamps = Path(session.tmpdir) / "camera-canvas-stamps.txt"
                rig.busy(stamps)
                time.sleep(1)  # the last frames' way to the page
                sent = read_send_times(stamps)
                seen = page.eval("window.bench.seen")
            finally:
                page.close()
        shown = [t - sent[seq] for seq, t in seen if seq in sent and t >= sent[seq]]
        rows.append(summary(f"peer's send to the page's canvas, busy {WIDTH}×{HEIGHT} "
                            f"(Chromium, camera at {FPS} fps)", shown))
        rows.append({"measurement": "busy screen: frames the canvas showed (n: sent)",
                     "p50": len(shown), "p95": None, "n": len(sent), "unit": "frames"})
    finally:
        rig.close()
    for row in rows:
        log(row)
    return rows


def markdown(machine: str, rows: list[dict]) -> str:
    return "\n".join([
        f"Measured {machine} (`bench/camera.py` says how each number is taken).", "",
        report.markdown_table(rows, report.WEB_COLUMNS),
    ]) + "\n"
