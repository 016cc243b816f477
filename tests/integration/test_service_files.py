"""What vmcast installs to run as a service, checked with the tools that read it: the systemd
units (systemd-analyze verify, on the units as meson configured them), the man page (groff's
and man's warnings), the example config file and bad config files (vmcast itself).

  vmcast --config FILE config   prints the settings `run` would use; exit 2 with one line on
      stderr naming the file, [group] and key for a bad file (as `vmcast --config FILE run`).
"""
from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

SOURCE = Path(__file__).resolve().parents[2]
MAN_PAGE = SOURCE / "data" / "vmcast.1"
EXAMPLE = SOURCE / "data" / "vmcast.conf.example"
SYSTEM_UNITS = ["vmcast.service", "vmcast-pipewire.service", "vmcast-wireplumber.service",
                "vmcast-session-bus.service"]


def env_path(name: str) -> Path:
    value = os.environ.get(name)
    assert value, f"{name} is not set: run this test through `meson test`"
    return Path(value)


def run(argv, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([str(a) for a in argv], capture_output=True, text=True, timeout=60,
                          **kw)


def verify(units: list[Path], user: bool, tmp_path: Path) -> subprocess.CompletedProcess:
    runtime = tmp_path / "runtime"
    runtime.mkdir(mode=0o700, exist_ok=True)
    # verify looks up the units' man: pages; vmcast(1) is found where it would be installed.
    man1 = tmp_path / "man" / "man1"
    man1.mkdir(parents=True, exist_ok=True)
    shutil.copy(MAN_PAGE, man1)
    system_path = run(["manpath", "-g"]).stdout.strip()
    env = dict(os.environ, XDG_RUNTIME_DIR=str(runtime),
               MANPATH=f"{tmp_path / 'man'}:{system_path}")
    return run(["systemd-analyze", "verify", *(["--user"] if user else []), *units], env=env)


def configured_copies(units: list[Path], vmcast_bin: Path, tmp_path: Path) -> list[Path]:
    """The units as meson configured them, with the installed vmcast's path pointing at the
    built one, so systemd-analyze can check that ExecStart's program exists."""
    bindir = env_path("VMCAST_INSTALL_BINDIR")
    copies = []
    for unit in units:
        text = unit.read_text()
        assert not re.search(r"@\w+@", text), f"{unit}: a placeholder left:\n{text}"
        if unit.name == "vmcast.service":
            assert f"{bindir}/vmcast " in text, f"{unit}: ExecStart is not {bindir}/vmcast"
        dest = tmp_path / unit.parent.name / unit.name
        dest.parent.mkdir(exist_ok=True)
        dest.write_text(text.replace(f"{bindir}/vmcast ", f"{vmcast_bin} "))
        copies.append(dest)
    return copies


def test_units_verify(vmcast_bin, tmp_path):
    data = env_path("VMCAST_DATA_BUILD_DIR")
    user = configured_copies([data / "user" / "vmcast.service"], vmcast_bin, tmp_path)
    res = verify(user, True, tmp_path)
    assert res.returncode == 0 and not res.stderr, f"user unit:\n{res.stdout}{res.stderr}"
    system = configured_copies([data / "system" / name for name in SYSTEM_UNITS], vmcast_bin,
                             tmp_path)
    res = verify(system, False, tmp_path)
    assert res.returncode == 0 and not res.stderr, f"system units:\n{res.stdout}{res.stderr}"
    # The units' ExecStart runs vmcast through sh: its program is checked here.
    text = user[0].read_text()
    assert "ExecStart=/bin/sh -c " in text and f" {vmcast_bin} %E/vmcast/vmcast.conf" in text
    text = system[0].read_text()
    assert "ExecStart=/bin/sh -c " in text and f" {vmcast_bin} /etc/vmcast/vmcast.conf" in text


def test_user_unit_reads_the_config_file_when_it_is_there(vmcast_bin, tmp_path):
    """The user unit's ExecStart, run as systemd would (%E is ~/.config): with the config file
    it runs vmcast --config FILE run, without it vmcast run."""
    data = env_path("VMCAST_DATA_BUILD_DIR")
    unit = configured_copies([data / "user" / "vmcast.service"], vmcast_bin, tmp_path)[0]
    exec_start = re.search(r"^ExecStart=(.*)$", unit.read_text(), re.M).group(1)
    argv = shlex.split(exec_start.replace("%E", str(tmp_path / "config")))
    # No bus and no PipeWire here: vmcast run stops at once, saying why.
    env = {"PATH": os.environ["PATH"], "XDG_RUNTIME_DIR": str(tmp_path / "no-runtime"),
           "DBUS_SESSION_BUS_ADDRESS": f"unix:path={tmp_path}/no-bus"}
    res = run(argv, env=env)
    assert res.returncode == 1 and "PipeWire" in res.stderr, res.stderr
    config = tmp_path / "config" / "vmcast" / "vmcast.conf"
    config.parent.mkdir(parents=True)
    config.write_text("[web]\nbitrate=fast\n")
    res = run(argv, env=env)
    assert res.returncode == 2, res.stderr
    assert res.stderr.startswith(f"vmcast: {config}: [web] bitrate: "), res.stderr


def test_verify_sees_a_broken_unit(vmcast_bin, tmp_path):
    """The check above can fail: a misspelt key and a missing program are both reported."""
    data = env_path("VMCAST_DATA_BUILD_DIR")
    unit = configured_copies([data / "system" / "vmcast.service"], vmcast_bin, tmp_path)[0]
    good = unit.read_text()
    unit.write_text(good.replace("NoNewPrivileges=", "NoNewPrivilege="))
    res = verify([unit], False, tmp_path)
    assert "Unknown key" in res.stderr, res.stderr
    unit.write_text(good.replace("ExecStart=/bin/sh ", f"ExecStart={tmp_path / 'no-sh'} "))
    res = verify([unit], False, tmp_path)
    assert res.returncode != 0 and "no-sh" in res.stderr, res.stderr


def test_man_page_has_no_warnings(tmp_path):
    res = run(["groff", "-man", "-ww", "-z", MAN_PAGE])
    assert res.returncode == 0 and not res.stderr, res.stderr
    res = run(["man", "--warnings", "-l", MAN_PAGE], env=dict(os.environ, MANWIDTH="80"))
    assert res.returncode == 0 and not res.stderr, res.stderr
    assert "vmcast - QEMU VM screens" in res.stdout


def test_man_page_names_every_option_and_key(vmcast_bin):
    res = run([vmcast_bin, "--help-all"])
    assert res.returncode == 0, res.stderr
    options = set(re.findall(r"^\s+(?:-\w, )?(--[a-z-]+)", res.stdout, re.M))
    assert {"--config", "--web-bitrate", "--qmp"} <= options, res.stdout
    page = MAN_PAGE.read_text().replace("\\-", "-")
    missing = [option for option in sorted(options) if option not in page]
    assert not missing, f"options not in {MAN_PAGE.name}: {missing}"
    keys = re.findall(r"^#?([a-z-]+)=", EXAMPLE.read_text(), re.M)
    assert len(keys) == 14, keys
    missing = [key for key in keys if not re.search(rf"^\.B \[\w+\] {key}$", page, re.M)]
    assert not missing, f"config keys not in {MAN_PAGE.name}: {missing}"


def test_example_config_is_accepted(vmcast_bin, tmp_path):
    res = run([vmcast_bin, "--config", EXAMPLE, "config"])
    assert res.returncode == 0 and not res.stderr, res.stderr
    assert "listen=127.0.0.1:8081\n" in res.stdout and "bitrate=6000\n" in res.stdout, res.stdout
    # Each key the example leaves commented out, with its example value, is accepted too; of
    # [bus] address and [libvirt] uri, which exclude each other, one at a time.
    for left_out, given in (("uri", "address=unix:path=/run/vmcast/web1-bus"),
                            ("address", "uri=qemu:///system")):
        uncommented = tmp_path / f"every-key-but-{left_out}.conf"
        uncommented.write_text(re.sub(rf"^#(?!{left_out}=)([a-z-]+=)", r"\1",
                                      EXAMPLE.read_text(), flags=re.M))
        res = run([vmcast_bin, "--config", uncommented, "config"])
        assert res.returncode == 0 and not res.stderr, res.stderr
        for line in (given, "names=web1;web2;", "token-file=/etc/vmcast/web-tokens",
                     "codec=h264", "camera-size=1280x720", "socket=vmcast-web1"):
            assert line + "\n" in res.stdout, res.stdout
        # What config prints is a config file that says the same.
        printed = tmp_path / f"printed-but-{left_out}.conf"
        printed.write_text(res.stdout)
        again = run([vmcast_bin, "--config", printed, "config"])
        assert again.returncode == 0 and again.stdout == res.stdout, again.stderr


def test_command_line_wins_over_the_file(vmcast_bin):
    res = run([vmcast_bin, "--config", EXAMPLE, "--web-bitrate", "300", "--vm", "x", "config"])
    assert res.returncode == 0, res.stderr
    assert "bitrate=300\n" in res.stdout and "names=x;\n" in res.stdout, res.stdout


BAD_FILES = {
    "unknown-key": ("[web]\nlisten=:8081\nbitrat=100\n",
                    "[web] bitrat: unknown key (expected listen, token-file, codec, bitrate or microphone)"),
    "unknown-group": ("[webs]\n", "[webs]: unknown group"),
    "bus-and-libvirt": ("[bus]\naddress=unix:path=/run/x\n[libvirt]\nuri=qemu:///system\n",
                        "both [bus] address and [libvirt] uri"),
    "bad-number": ("[web]\nbitrate=fast\n",
                   '[web] bitrate: expected kbit/s from 100 to 100000, got "fast"'),
    "number-out-of-range": ("[stream]\nmax-fps=0\n",
                            '[stream] max-fps: expected frames a second from 1 to 1000, got "0"'),
    "bad-codec": ("[web]\ncodec=h265\n", '[web] codec: expected h264 or vp8, got "h265"'),
    "not-a-key-file": ("listen=:8081\n", "not a config file"),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
@pytest.mark.parametrize("command", ["run", "config"])
def test_bad_config_file_is_one_line_naming_the_key(vmcast_bin, tmp_path, case, command):
    text, expected = BAD_FILES[case]
    path = tmp_path / f"{case}.conf"
    path.write_text(text)
    res = run([vmcast_bin, "--config", path, command])
    assert res.returncode == 2, f"exit {res.returncode}\n{res.stderr}"
    assert res.stderr.startswith(f"vmcast: {path}: {expected}"), res.stderr
    assert res.stderr.count("\n") == 1, res.stderr
    assert not res.stdout, res.stdout


@pytest.mark.parametrize("what", ["missing", "directory"])
def test_unreadable_config_file(vmcast_bin, tmp_path, what):
    path = tmp_path / "missing.conf" if what == "missing" else tmp_path
    res = run([vmcast_bin, "--config", path, "run"])
    assert res.returncode == 2, f"exit {res.returncode}\n{res.stderr}"
    assert res.stderr.startswith(f"vmcast: {path}: ") and res.stderr.count("\n") == 1, res.stderr
    reason = "No such file or directory" if what == "missing" else "not a config file"
    assert reason in res.stderr, res.stderr


def test_errors_are_errors_in_the_journal(vmcast_bin, tmp_path):
    """Run by systemd, stderr is the journal ($JOURNAL_STREAM names it): the line vmcast exits
    with carries the error priority the journal reads (<3>)."""
    path = tmp_path / "bad.conf"
    path.write_text("[web]\ncodec=h265\n")
    stderr_path = tmp_path / "stderr"
    with open(stderr_path, "wb") as stderr:
        info = os.fstat(stderr.fileno())
        env = dict(os.environ, JOURNAL_STREAM=f"{info.st_dev}:{info.st_ino}")
        res = subprocess.run([str(vmcast_bin), "--config", str(path), "run"], stderr=stderr,
                             env=env, timeout=60)
    assert res.returncode == 2
    assert stderr_path.read_text() == \
        f'<3>vmcast: {path}: [web] codec: expected h264 or vp8, got "h265"\n'
