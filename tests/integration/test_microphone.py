"""The viewer's microphone into the VM (`vmcast run --web-microphone`), in real Chromium whose
fake microphone plays a 440 Hz sine: the fake QEMU peer records through the real
org.qemu.Display1.Audio protocol (RegisterInListener, then Init/SetEnabled and a blocking Read
every 10 ms on vmcast's AudioInListener) and finds the page's tone in what vmcast answers, and
silence once the page turns its microphone off. Off by default; view-only viewers get no
button; a second viewer takes the microphone over; bad Reads and Inits are refused; real QEMU
7.2 takes both of vmcast's audio listeners.

Meson runs this file inside a network namespace that has only loopback (unshare --net).
"""
from __future__ import annotations

import os
import re
import time
from contextlib import contextmanager

import pytest

from vmcast_testlib import Qemu, wait_for
from vmcast_testlib.audio import write_sine_wav
from vmcast_testlib.browser import Browser, fake_microphone_args

# The page's fixtures (web) come as a plugin; its asserts are rewritten as a test's only when it
# is registered before the import of its helpers.
pytest.register_assert_rewrite("web_page")
pytest_plugins = ("web_page",)
from web_page import VIEW_TOKEN, open_page, peer_playing, shown, show_toolbar  # noqa: E402

TONE_HZ = 440
BUTTON = "#mic-button"
# What the peer records: QEMU's usual input voice, 16-bit stereo at 48 kHz, 10 ms a Read.
RECORD = "audio-in-start bits=16 signed=1 rate=48000 channels=2"
FRAME_BYTES, RATE = 4, 48000
INVALID = "org.qemu.Display1.Error.Invalid"


@pytest.fixture
def mic_browser(artifacts, tmp_path):
    """Chromium whose microphone plays a 440 Hz sine at half of full scale, 48 kHz, 10 s,
    looped."""
    wav = tmp_path / "microphone.wav"
    write_sine_wav(wav, TONE_HZ, amplitude=0.5, rate=RATE, seconds=10)
    with Browser(artifacts.path("browser.log"), fake_microphone_args(wav)) as browser:
        yield browser


@contextmanager
def mic_peer(session, artifacts, tmp_path, web, name: str, microphone: bool = True):
    """The fake peer as QEMU 7.2 with sound, streamed by a vmcast that serves the page, with
    --web-microphone or without it; with it, once vmcast's input listener is registered."""
    port, args = web
    vmcast_args = args + (["--web-microphone"] if microphone else [])
    with peer_playing(session, artifacts, tmp_path, (port, vmcast_args), name) as (run, _):
        if microphone:
            result = run.peer.command("wait-audio-listener input=1 timeout=20", timeout=25)
            assert result["ok"], result
        yield run, port


def microphone(browser, page: str) -> str | None:
    return browser.state(page).get("microphone")


def wait_microphone(browser, page: str, want: str) -> None:
    wait_for(lambda: microphone(browser, page) == want, 20, 0.2,
             what=f"page {page}'s microphone {want} (it is {microphone(browser, page)!r})")


def click_microphone(browser, page: str) -> None:
    show_toolbar(browser, page)
    browser.click_element(page, BUTTON)


def pressed(browser, page: str) -> str:
    return browser.eval(page, f"document.querySelector('{BUTTON}').getAttribute('aria-pressed')")


def assert_no_button(browser, page: str) -> None:
    """The page settled without a microphone: no button, even with the toolbar shown."""
    wait_microphone(browser, page, "unavailable")
    show_toolbar(browser, page)
    assert not shown(browser, BUTTON, page)


def recorded(peer, last_ms: int = 1000) -> dict:
    result = peer.command(f"audio-in-stats last_ms={last_ms}")
    assert result["ok"], result
    return result


def wait_recorded(peer, what: str, good, last_ms: int = 1000) -> dict:
    """Waits until the peer's recording (audio-in-stats) satisfies good; it must have no short
    or failed Read."""
    last = {}

    def check():
        last["stats"] = stats = recorded(peer, last_ms)
        assert stats["short_reads"] == 0 and stats["failed_reads"] == 0, stats
        return stats if good(stats) else None
    try:
        return wait_for(check, 30, 0.5, what=what)
    except AssertionError as error:
        raise AssertionError(f"{error}; last stats {last.get('stats')}") from None


def hears_tone(stats: dict) -> bool:
    # Half of full scale is an RMS of 0.35 before the page's audio processing and Opus.
    return abs(stats["peak_hz"] - TONE_HZ) <= 10 and stats["rms"] > 0.05


def test_the_pages_microphone_reaches_the_vm(session, artifacts, tmp_path, web, mic_browser):
    with mic_peer(session, artifacts, tmp_path, web, "mic") as (run, port):
        peer = run.peer
        open_page(mic_browser, port, "p")
        wait_microphone(mic_browser, "p", "off")
        assert pressed(mic_browser, "p") == "false"
        click_microphone(mic_browser, "p")
        wait_microphone(mic_browser, "p", "on")
        assert pressed(mic_browser, "p") == "true"

        started = peer.command(RECORD)
        assert started["ok"], started
        assert started["period_bytes"] == 480 * FRAME_BYTES
        stats = wait_recorded(peer, f"the VM recording {TONE_HZ} Hz",
                              lambda s: s["frames"] >= 2 * RATE and hears_tone(s))
        assert stats["listeners"] == 1, stats

        click_microphone(mic_browser, "p")
        wait_microphone(mic_browser, "p", "off")
        assert pressed(mic_browser, "p") == "false"
        reads = stats["reads"]
        # Silence, in full Reads, for half a second (50 Reads) and more.
        wait_recorded(peer, "the VM recording silence",
                      lambda s: s["reads"] > reads + 50 and s["rms"] < 0.001, last_ms=500)
        assert peer.command("audio-in-stop")["ok"]
        run.assert_alive()


def test_without_the_option_there_is_no_microphone(session, artifacts, tmp_path, web,
                                                   mic_browser):
    with mic_peer(session, artifacts, tmp_path, web, "nomic", microphone=False) as (run, port):
        open_page(mic_browser, port, "p")
        assert_no_button(mic_browser, "p")
        # Long after the output listener: vmcast registered no input listener.
        result = run.peer.command(RECORD)
        assert not result["ok"] and result["message"] == "no audio input listener", result
        assert run.peer.events("audio-in-listener") == []
        run.assert_alive()


def test_a_view_only_viewer_gets_no_microphone(session, artifacts, tmp_path, web, mic_browser):
    with mic_peer(session, artifacts, tmp_path, web, "viewmic") as (run, port):
        open_page(mic_browser, port, "view", VIEW_TOKEN)
        assert_no_button(mic_browser, "view")
        # A full-access viewer of the same VM has it.
        open_page(mic_browser, port, "p")
        wait_microphone(mic_browser, "p", "off")
        show_toolbar(mic_browser, "p")
        assert shown(mic_browser, BUTTON, "p")
        run.assert_alive()


def test_a_second_viewer_takes_the_microphone_over(session, artifacts, tmp_path, web,
                                                   mic_browser):
    with mic_peer(session, artifacts, tmp_path, web, "twomics") as (run, port):
        open_page(mic_browser, port, "p")
        open_page(mic_browser, port, "q")
        click_microphone(mic_browser, "p")
        wait_microphone(mic_browser, "p", "on")
        wait_microphone(mic_browser, "q", "off")
        click_microphone(mic_browser, "q")
        wait_microphone(mic_browser, "q", "on")
        wait_microphone(mic_browser, "p", "off")
        assert pressed(mic_browser, "p") == "false" and pressed(mic_browser, "q") == "true"
        # The VM hears the new viewer's microphone.
        assert run.peer.command(RECORD)["ok"]
        wait_recorded(run.peer, f"the VM recording {TONE_HZ} Hz from the second viewer",
                      hears_tone)
        run.assert_alive()


BAD_CALLS = [
    ("method=Read stream=1 size=6", "a Read of part of a frame"),
    (f"method=Read stream=1 size={RATE * FRAME_BYTES + FRAME_BYTES}", "a Read of over 1 s"),
    ("method=Read stream=99 size=1920", "a Read of a stream never Init'ed"),
    ("method=Init stream=7 bits=7 channels=2 rate=48000", "7 bits a sample"),
    ("method=Init stream=7 bits=16 channels=0 rate=48000", "0 channels"),
    ("method=Init stream=7 bits=16 channels=2 rate=0", "a rate of 0 Hz"),
]


def test_a_recording_starts_with_fresh_sound(session, artifacts, tmp_path, web, mic_browser):
    """QEMU sets its input voice up once (Init) and enables it for each recording: what the page
    sent while the guest did not record must not reach it late. Without that, the guest's
    recording would start with the last 200 ms the page sent, and lag 200 ms behind it for good.
    """
    with mic_peer(session, artifacts, tmp_path, web, "freshmic") as (run, port):
        peer = run.peer
        init = peer.command("audio-in-call method=Init stream=1 bits=16 rate=48000 channels=2")
        assert init["results"][0]["ok"], init
        open_page(mic_browser, port, "p")
        wait_microphone(mic_browser, "p", "off")
        click_microphone(mic_browser, "p")
        wait_microphone(mic_browser, "p", "on")
        # A second and a half of the page's sound while the guest records nothing.
        time.sleep(1.5)
        enabled = peer.command("audio-in-call method=SetEnabled stream=1 enabled=1")
        assert enabled["results"][0]["ok"], enabled
        # All the sound waiting, in one Read of a second: only what came since the recording
        # started (a few ms), not the 200 ms the page sent before.
        read = peer.command(f"audio-in-call method=Read stream=1 size={RATE * FRAME_BYTES}")
        answer = read["results"][0]
        assert answer["ok"] and answer["bytes"] == RATE * FRAME_BYTES, read
        assert answer["sound_bytes"] < 0.15 * RATE * FRAME_BYTES, read
        # From then on the page's sound waits for the guest: after half a second, a Read of
        # 200 ms (what the buffer holds at most) is mostly the tone.
        time.sleep(0.5)
        fifth = RATE * FRAME_BYTES // 5
        read = peer.command(f"audio-in-call method=Read stream=1 size={fifth}")
        assert read["results"][0]["sound_bytes"] > 0.5 * fifth, read
        run.assert_alive()


def test_bad_reads_and_inits_are_refused(session, artifacts, tmp_path, web):
    with mic_peer(session, artifacts, tmp_path, web, "badmic") as (run, _):
        peer = run.peer
        assert peer.command(RECORD)["ok"]
        for call, what in BAD_CALLS:
            result = peer.command(f"audio-in-call {call}")
            assert result["ok"] and len(result["results"]) == 1, (what, result)
            answer = result["results"][0]
            assert not answer["ok"] and answer["name"] == INVALID, (what, answer)
            assert answer["error"].strip(), (what, answer)
            assert "\n" not in answer["error"], (what, answer)
            run.assert_alive()
        good = peer.command("audio-in-call method=Read stream=1 size=1920")
        assert good["results"] == [{"listener": good["results"][0]["listener"], "ok": True,
                                    "bytes": 1920, "sound_bytes": 0}], good
        # QEMU's own Reads go on, answered in full.
        wait_recorded(peer, "half a second of QEMU's Reads", lambda s: s["reads"] >= 50)


def test_real_qemu_takes_both_audio_listeners(session, web):
    """QEMU 7.2 with a sound card that records (hda-duplex) answers RegisterOutListener and
    RegisterInListener from vmcast's one bus name (its dbus_audio_register trace says so), and
    reports nothing else: no failed handshake or proxy."""
    port, args = web
    vmcast_bin = os.environ["VMCAST_BIN"]
    devices = ["-device", "intel-hda", "-device", "hda-duplex,audiodev=snd0",
               "-trace", "dbus_audio_register"]
    registration = re.compile(r"dbus_audio_register sender = (\S+), dir = (in|out)$")
    with Qemu(session, name="realmic", audiodev="snd0", extra_args=devices) as qemu:
        vmcast = session.spawn([vmcast_bin, "run", "--verbose", *args, "--web-microphone"],
                               name="vmcast")

        def registered():
            found = [registration.search(line) for line in qemu.stderr_tail().splitlines()]
            return sorted((m.group(2), m.group(1)) for m in found if m) or None
        wait_for(lambda: len(registered() or []) >= 2, 30, 0.3,
                 what="QEMU taking vmcast's two audio listeners")
        (direction_in, sender_in), (direction_out, sender_out) = registered()
        assert (direction_in, direction_out) == ("in", "out") and sender_in == sender_out, \
            registered()
        assert vmcast.poll() is None
        assert qemu.status() == "running"
        others = [line for line in qemu.stderr_tail().splitlines()
                  if line.strip() and not registration.search(line)]
        assert others == [], others
