"""What the page tests against the fake QEMU peer share: known tokens, a served port, the
browser, and a peer streamed by a vmcast that serves the page."""
from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from contextlib import contextmanager

import pytest

from peer_streaming import streamed_peer
from vmcast_testlib import free_port, psnr, wait_for
from vmcast_testlib.browser import Browser

FULL_TOKEN = "full-access-token-0123456789"
VIEW_TOKEN = "view-only-token-9876543210"


@pytest.fixture
def web(tmp_path):
    """(port, vmcast arguments) for a web page with known tokens."""
    token_file = tmp_path / "tokens"
    token_file.write_text(f"{FULL_TOKEN}\n{VIEW_TOKEN}\n")
    port = free_port()
    return port, ["--web", f"127.0.0.1:{port}", "--web-token-file", str(token_file)]


@pytest.fixture
def browser(artifacts):
    with Browser(artifacts.path("browser.log")) as b:
        yield b


def key_events(peer, since: int) -> list[tuple[str, int]]:
    return [(e["action"], e["keycode"]) for e in peer.events("key", since=since)]


@contextmanager
def peer_playing(session, artifacts, tmp_path, web, name: str, sound: bool = True,
                 init: str = "bits=16 rate=48000 channels=2"):
    """The fake peer showing a picture, streamed with the page served; with sound, its voice
    set up but silent (a page that joins before any sound must still get the audio track)."""
    port, args = web
    with streamed_peer(session, artifacts, tmp_path, name=name, vmcast_args=args,
                       peer_args=["--audio"] if sound else []) as run:
        result, _ = run.send("scanout width=320 height=200 pattern=gradient")
        assert result["ok"], result
        wait_running(port, name, timeout=20)
        if sound:
            assert run.peer.command("wait-audio-listener timeout=20", timeout=25)["ok"]
            assert run.peer.command(f"audio-init stream=1 {init}")["ok"]
        yield run, port


@contextmanager
def served_peer(session, artifacts, tmp_path, web, name: str, version: str = "7.2"):
    """The fake peer (as QEMU version) showing a 320x200 gradient, streamed by a vmcast that
    serves the page."""
    port, args = web
    with streamed_peer(session, artifacts, tmp_path, name=name, vmcast_args=args,
                       version=version) as run:
        result, _ = run.send("scanout width=320 height=200 pattern=gradient")
        assert result["ok"], result
        wait_running(port, name, timeout=20)
        yield run


def wait_input_channel(browser, page: str) -> None:
    wait_for(lambda: browser.eval(page, "window.vmcast.channel()?.readyState === 'open'"),
             15, what=f"page {page}'s input data channel open")


def open_page(browser, port: int, name: str, token: str = FULL_TOKEN) -> None:
    """Opens the only VM's page with a token, once it decodes video and its input channel is
    open."""
    browser.open(name, console_url(port, wait_running(port), token))
    browser.wait_decoding(name)
    wait_input_channel(browser, name)


def shown(browser, selector: str, page: str = "p") -> bool:
    """Whether the element is there and visible inside the window (not hidden, not off its
    edges)."""
    return browser.eval(page, f"""(() => {{ const e = document.querySelector({json.dumps(selector)});
        if (!e) return false;
        const r = e.getBoundingClientRect();
        return !e.closest('[hidden]') && getComputedStyle(e).visibility === 'visible' &&
               r.width > 0 && r.top >= 0 && r.bottom <= innerHeight && r.left >= 0 &&
               r.right <= innerWidth; }})()""")


def show_toolbar(browser, page: str = "p") -> None:
    """From the keyboard: Enter on the toolbar's handle. (A click there moves the pointer to
    the top edge first, which shows the toolbar over the handle.)"""
    if not shown(browser, "#fullscreen-button", page):
        browser.call("press", page=page, focus="#toolbar-handle", keys="Enter")
    wait_for(lambda: shown(browser, "#fullscreen-button", page), 5, 0.1,
             what=f"page {page}'s toolbar shown")


def choose_scale(browser, page: str, mode: str) -> None:
    """Picks fit, native (1:1) or resize in the page's scaling picker, as a user does."""
    browser.eval(page, f"""(() => {{ const s = document.getElementById('scale-mode');
        s.value = '{mode}'; s.dispatchEvent(new Event('change')); }})()""")


def http_status(url: str, headers: dict | None = None) -> tuple[int, str]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def listed_vms(port: int, token: str = FULL_TOKEN) -> list[dict]:
    """The VMs vmcast lists (/vms), each {"name", "state", "consoles": [{"index", "label"}]}."""
    status, text = http_status(f"http://127.0.0.1:{port}/vms?token={token}")
    assert status == 200, (status, text)
    return json.loads(text)["vms"]


def running_vm(port: int, vm: str | None = None) -> str | None:
    """The VM's name (without vm: the only VM's) when vmcast lists it as running."""
    vms = listed_vms(port)
    if vm is None and len(vms) != 1:
        return None
    return next((v["name"] for v in vms
                 if v["name"] == (vm or v["name"]) and v["state"] == "running"), None)


def wait_running(port: int, vm: str | None = None, timeout: float = 30) -> str:
    return wait_for(lambda: running_vm(port, vm), timeout, 0.3,
                    what=f"vmcast listing VM {vm or '(the only one)'} as running")


def console_url(port: int, vm: str, token: str = FULL_TOKEN, console: int | None = None) -> str:
    """A console's page: its stable address."""
    query = {"vm": vm, **({} if console is None else {"console": str(console)}), "token": token}
    return f"http://127.0.0.1:{port}/?{urllib.parse.urlencode(query)}"


def serve_and_open(session, vmcast_bin, tmp_path, browser, page: str = "p",
                   env: dict | None = None):
    """`vmcast run --web` with known tokens for the VM on the session's bus (env added to its
    environment), and the page open with full access, once it decodes video; returns vmcast's
    process."""
    token_file = tmp_path / "tokens"
    token_file.write_text(f"{FULL_TOKEN}\n{VIEW_TOKEN}\n")
    port = free_port()
    vmcast = session.spawn([str(vmcast_bin), "run", "--verbose", "--web", f"127.0.0.1:{port}",
                            "--web-token-file", str(token_file)], name="vmcast", env=env)
    vm = wait_for(lambda: vmcast.poll() is None and running_vm(port), 30, 0.3,
                  what="vmcast serving the page of its VM")
    browser.open(page, console_url(port, vm))
    browser.wait_decoding(page, timeout=60)
    return vmcast


def wait_page_shows(browser, expected, artifacts, label: str, page: str = "p") -> None:
    """Waits until the page's decoded picture has expected's size and is within 30 dB PSNR of
    it; saves both pictures when it does not."""
    best = {"psnr": 0.0}

    def close_enough() -> bool:
        frame = browser.frame(page)
        best.update(frame=frame, psnr=psnr(frame, expected) if frame.size == expected.size
                    else 0.0)
        return best["psnr"] >= 30
    try:
        wait_for(close_enough, 30, 0.5, what=f"{label}: the page within 30 dB of the picture")
    except AssertionError:
        artifacts.save_image(f"{label}-expected", expected)
        if "frame" in best:
            artifacts.save_image(f"{label}-page", best["frame"])
        raise AssertionError(f"{label}: best PSNR {best['psnr']:.1f} dB, page state "
                             f"{browser.state(page)}") from None
