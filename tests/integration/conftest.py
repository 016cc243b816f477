"""pytest fixtures for vmcast's integration tests (real dbus-daemon, PipeWire, WirePlumber, QEMU).

Environment (set by tests/integration/meson.build when run through `meson test`):
  VMCAST_BIN            vmcast executable (tests needing it skip when unset)
  VMCAST_CONSUMER_BIN   vmcast-frame-consumer test tool
  VMCAST_FAKE_QEMU_BIN  fake QEMU peer
  VMCAST_GUEST_DIR      directory with vmlinuz + initrd.img from tests/guest/build-guest.sh
                        (when unset, the guest is built once into a temporary directory)
  VMCAST_TEST_ARTIFACTS where failing tests leave images and logs (default: a temporary dir)
  VMCAST_CI             1 in CI (.ci/run): a skipped test fails the run
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from vmcast_testlib import Session, guest_append  # noqa: E402
from vmcast_testlib.images import Image, write_ppm  # noqa: E402

# The camera_portal fixture (a real xdg-desktop-portal on the test's session).
pytest_plugins = ("vmcast_testlib.camera_portal",)

GUEST_SRC = Path(__file__).resolve().parents[1] / "guest"


@pytest.hookimpl(tryfirst=True, hookwrapper=True)
def pytest_runtest_makereport(item, call):
    # Remember each phase's report on the test item so fixtures can tell, at teardown, whether
    # the test failed (and then keep its logs).
    outcome = yield
    rep = outcome.get_result()
    setattr(item, f"rep_{rep.when}", rep)


_skips: list = []  # reports of skipped tests and collectors, for pytest_sessionfinish


def pytest_runtest_logreport(report):
    if report.skipped and not hasattr(report, "wasxfail"):
        _skips.append(report)


def pytest_collectreport(report):
    if report.skipped:
        _skips.append(report)


def pytest_sessionfinish(session, exitstatus):
    # In CI a skip is a failure: a test that did not run proves nothing, and pytest exits 0
    # (meson: OK) even when every test of a file skipped. -rs lists the reasons.
    if os.environ.get("VMCAST_CI") != "1" or not _skips:
        return
    if exitstatus in (pytest.ExitCode.OK, pytest.ExitCode.NO_TESTS_COLLECTED):
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
    print(f"\nVMCAST_CI=1: {len(_skips)} skipped, which is a failure in CI: "
          + ", ".join(report.nodeid for report in _skips), file=sys.stderr)


def _failed(request) -> bool:
    return any(getattr(request.node, f"rep_{w}", None) is not None
               and getattr(request.node, f"rep_{w}").failed for w in ("setup", "call"))


@pytest.fixture(scope="session")
def artifacts_root() -> Path:
    root = os.environ.get("VMCAST_TEST_ARTIFACTS") or tempfile.mkdtemp(prefix="vmcast-artifacts-")
    path = Path(root)
    path.mkdir(parents=True, exist_ok=True)
    return path


class Artifacts:
    """Per-test artefact directory, created only when something is saved into it."""

    def __init__(self, root: Path, test_name: str):
        self.dir = root / re.sub(r"[^A-Za-z0-9_.-]+", "_", test_name)

    def path(self, name: str) -> Path:
        self.dir.mkdir(parents=True, exist_ok=True)
        return self.dir / name

    def save_image(self, name: str, img: Image) -> Path:
        path = self.path(name if name.endswith(".ppm") else name + ".ppm")
        write_ppm(img, path)
        return path

    def save_text(self, name: str, text: str) -> Path:
        path = self.path(name)
        path.write_text(text)
        return path


@pytest.fixture
def artifacts(request, artifacts_root) -> Artifacts:
    return Artifacts(artifacts_root, request.node.name)


def _keep_logs(request, sess: Session, artifacts: Artifacts) -> None:
    keep_all = os.environ.get("VMCAST_TEST_KEEP_LOGS") == "1"
    if (keep_all or _failed(request)) and sess.log_dir.exists():
        dest = artifacts.path("logs")
        shutil.copytree(sess.log_dir, dest, dirs_exist_ok=True)
        print(f"\n[vmcast] logs of the test kept in {dest}", file=sys.stderr)


@pytest.fixture
def session(request, artifacts):
    """A private bus + PipeWire + WirePlumber for one test; everything is killed afterwards."""
    with Session() as sess:
        try:
            yield sess
        finally:
            _keep_logs(request, sess, artifacts)


@pytest.fixture
def make_session(request, artifacts):
    """Factory for Session variants (e.g. make_session(pipewire=False)); all closed afterwards."""
    made: list[Session] = []

    def make(**kw) -> Session:
        sess = Session(**kw)
        made.append(sess)
        sess.__enter__()
        return sess
    yield make
    for sess in made:
        _keep_logs(request, sess, artifacts)
        sess.close()


@dataclass
class Guest:
    dir: Path
    kernel: Path
    initrd: Path
    pattern: Path | None   # pattern.ppm: what vmcast.mode=pattern draws (RGB, 1024x768)

    def append(self, mode: str) -> str:
        return guest_append(mode)

    def qemu_args(self, mode: str) -> dict:
        """Keyword arguments for Qemu(...) booting this guest in `mode`."""
        return {"kernel": str(self.kernel), "initrd": str(self.initrd), "append": guest_append(mode)}


@pytest.fixture(scope="session")
def guest(tmp_path_factory) -> Guest:
    gdir = os.environ.get("VMCAST_GUEST_DIR")
    if gdir:
        path = Path(gdir)
    else:
        # Not run through meson: build the guest once for this pytest run.
        path = tmp_path_factory.mktemp("guest")
        res = subprocess.run([str(GUEST_SRC / "build-guest.sh"), str(path)],
                             capture_output=True, text=True)
        if res.returncode != 0:
            pytest.fail(f"build-guest.sh failed:\n{res.stdout}{res.stderr}")
    kernel, initrd = path / "vmlinuz", path / "initrd.img"
    for f in (kernel, initrd):
        if not f.is_file():
            pytest.fail(f"test guest file {f} missing (VMCAST_GUEST_DIR={gdir!r})")
    pattern = path / "pattern.ppm"
    return Guest(path, kernel, initrd, pattern if pattern.is_file() else None)


def _bin_from_env(var: str, what: str) -> Path:
    value = os.environ.get(var)
    if not value:
        pytest.skip(f"{var} is not set: {what} not built (run through `meson test`)")
    path = Path(value)
    if not os.access(path, os.X_OK):
        pytest.fail(f"{var}={value} is not an executable file")
    return path


@pytest.fixture(scope="session")
def vmcast_bin() -> Path:
    return _bin_from_env("VMCAST_BIN", "vmcast")


@pytest.fixture(scope="session")
def consumer_bin() -> Path:
    return _bin_from_env("VMCAST_CONSUMER_BIN", "vmcast-frame-consumer")


@pytest.fixture(scope="session")
def fake_qemu_bin() -> Path:
    return _bin_from_env("VMCAST_FAKE_QEMU_BIN", "the fake QEMU peer")
