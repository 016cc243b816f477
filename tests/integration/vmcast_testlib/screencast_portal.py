"""A headless ScreenCast portal on a test Session: the real xdg-desktop-portal 1.16 with the real
xdg-desktop-portal-wlr 0.7 as its ScreenCast backend, casting one output of vmcast's Wayland
socket with no chooser (`chooser_type=none`, `output_name=OUTPUT`), as docs/wayland.md tells a
user to run it.

    portal = ScreenCastPortal(session, "vmcast-VM", "vmcast.VM.0")
    portal.start()                      # permission store, xdpw, then the portal
    cast = portal.cast(tmp_path / "cast")
    cast.node                           # the PipeWire node id the portal's Start gave
    cast.latest()                       # its newest picture (a GstConsumer)

The portal picks the backend from a `wlr.portal` file in XDG_DESKTOP_PORTAL_DIR (a directory in
the session's tmpdir) for XDG_CURRENT_DESKTOP=wlroots; the permission store writes into the
session's tmpdir (XDG_DATA_HOME). Every process is started with session.spawn, so
Session.close() stops them; their output is in the session's logs.
"""
from __future__ import annotations

import re
from pathlib import Path

from .camera_portal import OBJECT_PATH, PORTAL_BIN, PORTAL_NAME, STORE_BIN, STORE_NAME, \
    check_alive, wait_name
from .env import Session
from .gst_consumer import GstConsumer
from .util import wait_for

DESKTOP = "wlroots"
WLR_BIN = "/usr/libexec/xdg-desktop-portal-wlr"
WLR_NAME = "org.freedesktop.impl.portal.desktop.wlr"
CLIENT = Path(__file__).with_name("screencast_client.py")
PYTHON = "/usr/bin/python3"  # the one python3-gi is installed for


class ScreenCastPortal:
    def __init__(self, session: Session, wayland_display: str, output: str):
        assert session.bus_address, "the ScreenCast portal needs a session with a bus"
        self.session = session
        self.portal_dir = session.tmpdir / "portals"
        self.data_home = session.tmpdir / "data"
        self.config = session.tmpdir / "xdpw.config"
        self.env = {"XDG_CURRENT_DESKTOP": DESKTOP, "XDG_DESKTOP_PORTAL_DIR": str(self.portal_dir),
                    "XDG_DATA_HOME": str(self.data_home), "WAYLAND_DISPLAY": wayland_display}
        self.output = output

    def start(self, timeout: float = 30.0) -> None:
        """xdg-permission-store, xdg-desktop-portal-wlr, then xdg-desktop-portal; returns once
        the portal's ScreenCast interface answers."""
        self.portal_dir.mkdir(exist_ok=True)
        self.data_home.mkdir(exist_ok=True)
        (self.portal_dir / "wlr.portal").write_text(
            f"[portal]\nDBusName={WLR_NAME}\n"
            f"Interfaces=org.freedesktop.impl.portal.ScreenCast;\nUseIn={DESKTOP}\n")
        self.config.write_text(f"[screencast]\nchooser_type=none\noutput_name={self.output}\n"
                               "max_fps=30\n")
        store = self.session.spawn([STORE_BIN, "--replace"], name="xdg-permission-store",
                                   env=self.env)
        wait_name(self.session, STORE_NAME, store, timeout)
        wlr = self.session.spawn([WLR_BIN, "--loglevel=TRACE", "--config", str(self.config)],
                                 name="xdg-desktop-portal-wlr", env=self.env)
        wait_name(self.session, WLR_NAME, wlr, timeout)
        portal = self.session.spawn([PORTAL_BIN, "--replace", "--verbose"],
                                    name="xdg-desktop-portal", env=self.env)
        wait_name(self.session, PORTAL_NAME, portal, timeout)

        def screencast_answers() -> bool:
            check_alive(self.session, portal, "xdg-desktop-portal")
            return self.session.run(
                ["gdbus", "call", "--address", self.session.bus_address, "--dest", PORTAL_NAME,
                 "--object-path", OBJECT_PATH, "--method", "org.freedesktop.DBus.Properties.Get",
                 "org.freedesktop.portal.ScreenCast", "version"], timeout=10).returncode == 0
        wait_for(screencast_answers, timeout, what="the portal's ScreenCast interface")

    def cast(self, directory: Path, timeout: float = 30.0) -> "PortalCast":
        return PortalCast(self.session, directory, timeout)


class PortalCast(GstConsumer):
    """screencast_client.py: a ScreenCast session started through the portal (CreateSession,
    SelectSources for a monitor, Start), and pipewiresrc on the node Start gave, through the
    portal's OpenPipeWireRemote fd, writing pictures as GstConsumer does."""

    def __init__(self, session: Session, directory: Path, timeout: float):
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        self.proc = session.spawn([PYTHON, str(CLIENT), str(directory)],
                                  name="screencast-client")
        stdout = session.log_path(self.proc.log_name, "stdout")  # type: ignore[attr-defined]

        def started() -> int | None:
            check_alive(session, self.proc, "the ScreenCast client")
            found = re.search(r"^node (\d+)$", stdout.read_text(), re.MULTILINE)
            return found and int(found.group(1))
        self.node: int = wait_for(started, timeout, what="the portal starting a screen cast")


__all__ = ["ScreenCastPortal", "PortalCast"]
