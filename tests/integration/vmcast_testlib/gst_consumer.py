"""GStreamer's pipewiresrc as a consumer of a vmcast node: the pipeline the README documents,
`gst-launch-1.0 pipewiresrc target-object=NODE always-copy=true ! videoconvert ! ...`, writing
each picture it passes on as a numbered PPM file (the newest few are kept)."""
from __future__ import annotations

from pathlib import Path

from .images import Image, read_ppm


class GstConsumer:
    def __init__(self, session, node: str, directory: Path, *, keep: int = 4):
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        self.proc = session.spawn(
            ["gst-launch-1.0", "-q", "pipewiresrc", f"target-object={node}", "always-copy=true",
             "!", "videoconvert", "!", "video/x-raw,format=RGB", "!", "pnmenc", "!",
             "multifilesink", f"location={directory}/frame-%06d.ppm", f"max-files={keep}"],
            name="gst-consumer")

    def pictures(self) -> int:
        """How many pictures the pipeline has written so far."""
        files = sorted(self.directory.glob("frame-*.ppm"))
        return int(files[-1].stem.split("-")[1]) + 1 if files else 0

    def latest(self) -> Image | None:
        """The newest picture, or None while there is none or it is still being written."""
        files = sorted(self.directory.glob("frame-*.ppm"))
        if not files:
            return None
        try:
            return read_ppm(files[-1])
        except (OSError, ValueError):
            return None

    def alive(self) -> bool:
        return self.proc.poll() is None
