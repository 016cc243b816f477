"""GStreamer's pipewiresrc as a consumer of a vmcast node: the pipeline the README documents,
`gst-launch-1.0 pipewiresrc target-object=NODE always-copy=true ! videoconvert ! ...`, writing
each picture it passes on as a numbered PPM file (the newest few are kept). GstRawConsumer asks
for one raw format instead, keeps the frames as the node sent them, and reads the caps that
pipewiresrc agreed on."""
from __future__ import annotations

import re
from pathlib import Path

from .images import Image, read_ppm, read_raw_frame


class GstConsumer:
    suffix = "ppm"

    def __init__(self, session, node: str, directory: Path, *, keep: int = 4):
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        self.proc = session.spawn(
            ["gst-launch-1.0", "-q", "pipewiresrc", f"target-object={node}", "always-copy=true",
             "!", "videoconvert", "!", "video/x-raw,format=RGB", "!", "pnmenc", "!",
             "multifilesink", f"location={directory}/frame-%06d.ppm", f"max-files={keep}"],
            name="gst-consumer")

    def _files(self) -> list[Path]:
        return sorted(self.directory.glob(f"frame-*.{self.suffix}"))

    def pictures(self) -> int:
        """How many pictures the pipeline has written so far."""
        files = self._files()
        return int(files[-1].stem.split("-")[1]) + 1 if files else 0

    def latest(self) -> Image | None:
        """The newest picture, or None while there is none or it is still being written."""
        files = self._files()
        if not files:
            return None
        try:
            return read_ppm(files[-1])
        except (OSError, ValueError):
            return None

    def alive(self) -> bool:
        return self.proc.poll() is None


class GstRawConsumer(GstConsumer):
    """`pipewiresrc target-object=NODE ! video/x-raw,format=FMT ! multifilesink`: each frame's
    bytes as the node sent them, no conversion, so alpha can be checked too."""
    suffix = "raw"

    def __init__(self, session, node: str, directory: Path, fmt: str, *, keep: int = 4):
        self.directory = directory
        self.format = fmt
        directory.mkdir(parents=True, exist_ok=True)
        # stdbuf: -v prints the caps with stdio, which a log file would hold back in its buffer.
        self.proc = session.spawn(
            ["stdbuf", "-oL", "gst-launch-1.0", "-v", "pipewiresrc", f"target-object={node}", "always-copy=true",
             "!", f"video/x-raw,format={fmt}", "!", "multifilesink",
             f"location={directory}/frame-%06d.raw", f"max-files={keep}"],
            name="gst-raw-consumer")
        self._stdout = session.log_path(self.proc.log_name, "stdout")

    def caps(self) -> dict[str, str] | None:
        """The latest caps on the caps filter's output, as {field: value}, e.g.
        {"format": "BGRA", "width": "64", "height": "48", "framerate": "30/1"}."""
        text = self._stdout.read_text(errors="replace")
        found = re.findall(r"capsfilter\d+\.GstPad:src: caps = video/x-raw, (.*)", text)
        if not found:
            return None
        return dict(re.findall(r"([\w-]+)=\(\w+\)([^,]+)", found[-1]))

    def latest(self) -> Image | None:
        caps = self.caps()
        files = self._files()
        if not caps or not files:
            return None
        try:
            return read_raw_frame(files[-1], int(caps["width"]), int(caps["height"]), self.format)
        except (OSError, ValueError, KeyError):
            return None
