"""A headless Camera portal on a test Session: the real xdg-desktop-portal 1.16 and
xdg-permission-store, and an org.freedesktop.impl.portal.Access backend made with python3-dbusmock
that answers the portal's AccessDialog as the test says (granted or denied).

Use it from a test through the `camera_portal` fixture (conftest.py registers this module as a
plugin; the fixture needs conftest's `session` fixture):

    def test_x(session, camera_portal):      # store and Access backend run, the portal does not
        camera_portal.set_access("denied")   # what AccessDialog answers (default "granted")
        ...start the producer of the camera nodes, wait for them...
        camera_portal.start()                # xdg-desktop-portal, last; waits for its Camera
        assert camera_portal.is_camera_present()
        ...run a client: it reaches the portal through session.env's bus...
        camera_portal.access_dialogs()       # how many times the portal asked the backend
        camera_portal.stored_permission()    # ["yes"], ["no"] or None (never asked)
        camera_portal.restart()              # a new portal, which counts the cameras again

Or without pytest: `portal = CameraPortal(session); portal.start_backends(); ...; portal.start()`.

Why the order: xdg-desktop-portal 1.16's IsCameraPresent only counts camera nodes that existed
when the portal started (fixed in 1.18.3), so the portal starts after the camera nodes, and
restart() is what a user does after starting vmcast. The portal remembers the first answer in the
permission store ("devices" table, "camera" entry, app id "" for unsandboxed clients) and asks the
backend again only after forget_permission(); set_permission("yes") grants without any dialog.

The portal processes get XDG_CURRENT_DESKTOP=vmcasttest (so the portal picks our .portal file
from XDG_DESKTOP_PORTAL_DIR, a directory in the session's tmpdir) and XDG_DATA_HOME in the
session's tmpdir (the permission store writes its database there, not in the user's home). The
bus's activation environment gets the same, so a portal that something D-Bus-activates reads the
same files. All processes are started with session.spawn, so Session.close() kills whatever is
left; each process's output is in the session's logs (xdg-desktop-portal.stderr.log ...).
"""
from __future__ import annotations

import re
import signal
import subprocess

import pytest

from .env import Session
from .util import wait_for

DESKTOP = "vmcasttest"
BACKEND_NAME = f"org.freedesktop.impl.portal.desktop.{DESKTOP}"
PORTAL_NAME = "org.freedesktop.portal.Desktop"
STORE_NAME = "org.freedesktop.impl.portal.PermissionStore"
OBJECT_PATH = "/org/freedesktop/portal/desktop"
ACCESS_IFACE = "org.freedesktop.impl.portal.Access"
PORTAL_BIN = "/usr/libexec/xdg-desktop-portal"
STORE_BIN = "/usr/libexec/xdg-permission-store"
PYTHON = "/usr/bin/python3"  # the one python3-dbusmock is installed for

# AccessDialog's response codes (org.freedesktop.impl.portal.Request): 0 granted, 1 cancelled by
# the user, 2 ended another way (denied).
ACCESS_RESPONSES = {"granted": 0, "cancelled": 1, "denied": 2}


def gvariant_string(text: str) -> str:
    """`text` as a GVariant text-format string literal, for gdbus call arguments."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def has_owner(session: Session, name: str) -> bool:
    res = session.bus_call("NameHasOwner", name)
    return res.returncode == 0 and "true" in res.stdout


def check_alive(session: Session, proc: subprocess.Popen, what: str) -> None:
    if proc.poll() is not None:
        log = session.log_path(proc.log_name, "stderr")  # type: ignore[attr-defined]
        raise AssertionError(f"{what} exited with status {proc.returncode}\n"
                             f"{log.read_text(errors='replace')[-3000:]}")


def wait_name(session: Session, name: str, proc: subprocess.Popen,
              timeout: float = 30.0) -> None:
    """Waits until proc owns name on the session's bus; fails at once if proc exits."""
    def owned() -> bool:
        check_alive(session, proc, name)
        return has_owner(session, name)
    wait_for(owned, timeout, what=f"{name} on the session bus")


class CameraPortal:
    def __init__(self, session: Session, *, access: str = "granted"):
        assert session.bus_address, "the Camera portal needs a session with a bus"
        self.session = session
        self.portal_dir = session.tmpdir / "portals"
        self.data_home = session.tmpdir / "data"
        self.env = {"XDG_CURRENT_DESKTOP": DESKTOP, "XDG_DESKTOP_PORTAL_DIR": str(self.portal_dir),
                    "XDG_DATA_HOME": str(self.data_home)}
        self._access = access
        self._backend: subprocess.Popen | None = None
        self._backend_log = session.log_dir / "access-backend.calls.log"
        self._portal: subprocess.Popen | None = None

    # -- start and stop ---------------------------------------------------------------------------
    def start_backends(self) -> None:
        """The .portal file, the activation environment, xdg-permission-store and the Access
        backend; everything the portal needs except the camera nodes."""
        self.portal_dir.mkdir(exist_ok=True)
        self.data_home.mkdir(exist_ok=True)
        (self.portal_dir / f"{DESKTOP}.portal").write_text(
            f"[portal]\nDBusName={BACKEND_NAME}\nInterfaces={ACCESS_IFACE};\nUseIn={DESKTOP}\n")
        pairs = ", ".join(f"{gvariant_string(k)}: {gvariant_string(v)}"
                          for k, v in self.env.items())
        self._check(self.session.bus_call("UpdateActivationEnvironment", "{" + pairs + "}"),
                    "UpdateActivationEnvironment")
        store = self.session.spawn([STORE_BIN, "--replace"], name="xdg-permission-store",
                                   env=self.env)
        wait_name(self.session, STORE_NAME, store)
        self._backend = self.session.spawn(
            [PYTHON, "-m", "dbusmock", "--session", "--logfile", str(self._backend_log),
             BACKEND_NAME, OBJECT_PATH, ACCESS_IFACE], name="access-backend", env=self.env)
        wait_name(self.session, BACKEND_NAME, self._backend)
        self.set_access(self._access)

    def start(self, timeout: float = 30.0) -> None:
        """Starts xdg-desktop-portal (start it after the camera nodes exist) and waits until its
        Camera interface answers."""
        assert self._portal is None, "the portal is running: restart() it"
        assert self._backend is not None, "start_backends() first"
        self._portal = self.session.spawn([PORTAL_BIN, "--replace", "--verbose"],
                                          name="xdg-desktop-portal", env=self.env)
        wait_name(self.session, PORTAL_NAME, self._portal, timeout)

        def camera_answers() -> bool:
            check_alive(self.session, self._portal, "xdg-desktop-portal")
            return self._camera_property("version").returncode == 0
        wait_for(camera_answers, timeout, what="the portal's Camera interface")

    def stop(self) -> None:
        """Stops the portal (SIGTERM, then SIGKILL) and waits until its bus name is gone."""
        proc, self._portal = self._portal, None
        if proc is None:
            return
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                proc.send_signal(sig)
                proc.wait(timeout=5)
                break
            except subprocess.TimeoutExpired:
                continue
        self.session.procs.remove(proc)
        wait_for(lambda: not has_owner(self.session, PORTAL_NAME), 10,
                 what=f"{PORTAL_NAME} to leave the bus")

    def restart(self, timeout: float = 30.0) -> None:
        """A new portal process: it counts the camera nodes present now."""
        self.stop()
        self.start(timeout)

    # -- what the backend answers, what the portal remembers --------------------------------------
    def set_access(self, answer: str) -> None:
        """What AccessDialog answers from now on: "granted", "denied" or "cancelled"."""
        response = ACCESS_RESPONSES[answer]
        self._access = answer
        if self._backend is None:
            return  # start_backends() installs it
        code = f"ret = (dbus.UInt32({response}), dbus.Dictionary({{}}, signature='sv'))"
        self._check(self.session.run(
            ["gdbus", "call", "--address", self.session.bus_address, "--dest", BACKEND_NAME,
             "--object-path", OBJECT_PATH, "--method", "org.freedesktop.DBus.Mock.AddMethod",
             gvariant_string(ACCESS_IFACE), "'AccessDialog'", "'osssssa{sv}'", "'ua{sv}'",
             gvariant_string(code)], timeout=10), "the Access backend's AddMethod")

    def access_dialogs(self) -> int:
        """How many AccessDialog calls the backend has answered."""
        if not self._backend_log.exists():
            return 0
        return sum(" AccessDialog " in line
                   for line in self._backend_log.read_text(errors="replace").splitlines())

    def stored_permission(self) -> list[str] | None:
        """The permission store's camera entry for unsandboxed apps (["yes"], ["no"]), or None
        while the portal has never decided."""
        res = self._store_call("GetPermission", "'devices'", "'camera'", "''")
        if res.returncode != 0:
            if "NotFound" in res.stderr:
                return None
            self._check(res, "PermissionStore.GetPermission")
        # gdbus prints "(['yes'],)", or "(@as [],)" once the entry was deleted.
        return re.findall(r"'([^']*)'", res.stdout) or None

    def set_permission(self, value: str) -> None:
        """Stores "yes" or "no" for unsandboxed apps: the portal then asks no backend."""
        self._check(self._store_call("SetPermission", "'devices'", "true", "'camera'", "''",
                                     f"[{gvariant_string(value)}]"),
                    "PermissionStore.SetPermission")

    def forget_permission(self) -> None:
        """Deletes the stored answer, so the portal asks the Access backend again."""
        res = self._store_call("DeletePermission", "'devices'", "'camera'", "''")
        if res.returncode != 0 and "NotFound" not in res.stderr:
            self._check(res, "PermissionStore.DeletePermission")

    def is_camera_present(self) -> bool:
        """The portal's IsCameraPresent property."""
        res = self._camera_property("IsCameraPresent")
        self._check(res, "reading IsCameraPresent")
        return "true" in res.stdout

    # -- helpers ----------------------------------------------------------------------------------
    def _camera_property(self, name: str) -> subprocess.CompletedProcess:
        return self.session.run(
            ["gdbus", "call", "--address", self.session.bus_address, "--dest", PORTAL_NAME,
             "--object-path", OBJECT_PATH, "--method", "org.freedesktop.DBus.Properties.Get",
             "'org.freedesktop.portal.Camera'", gvariant_string(name)], timeout=10)

    def _store_call(self, method: str, *args: str) -> subprocess.CompletedProcess:
        return self.session.run(
            ["gdbus", "call", "--address", self.session.bus_address, "--dest", STORE_NAME,
             "--object-path", "/org/freedesktop/impl/portal/PermissionStore", "--method",
             f"{STORE_NAME}.{method}", *args], timeout=10)

    @staticmethod
    def _check(res: subprocess.CompletedProcess, what: str) -> None:
        if res.returncode != 0:
            raise AssertionError(f"{what} failed ({res.returncode}): {res.stderr.strip()}")


@pytest.fixture
def camera_portal(session) -> CameraPortal:
    """The permission store and a granting Access backend on the test's session; the test
    starts the portal itself (camera_portal.start()) once its camera nodes exist. The session
    fixture's teardown stops every process."""
    portal = CameraPortal(session)
    portal.start_backends()
    return portal


__all__ = ["CameraPortal", "camera_portal", "ACCESS_RESPONSES", "PORTAL_NAME", "BACKEND_NAME",
           "wait_name", "check_alive", "has_owner", "gvariant_string"]
