"""The VM's sound in the page, in real Chromium: the fake QEMU peer plays a tone through the real
Audio protocol, and the page's WebRTC session carries it as Opus next to the picture. Its stats
show audio packets received and samples decoded, a Web Audio analyser on the received track
finds the tone's frequency, the page starts muted and its mute button unmutes and mutes it, and
a new session (a reload) has the sound again. A VM without sound has no audio track and no
button.
"""
from __future__ import annotations

from web_page import open_page, peer_playing
from vmcast_testlib import wait_for

# The web and browser fixtures.
pytest_plugins = ("web_page",)

TONE_HZ = 1000

AUDIO_STATS = """(async () => {
  const report = await window.vmcast.peer().getStats();
  let found = null;
  report.forEach((s) => { if (s.type === 'inbound-rtp' && s.kind === 'audio') found = s; });
  return found && { packets: found.packetsReceived, samples: found.totalSamplesReceived,
                    codec: report.get(found.codecId)?.mimeType };
})()"""

# An analyser on the received audio track (not on the element, whose muting it ignores).
START_ANALYSER = """(async () => {
  const receiver = window.vmcast.peer().getReceivers().find((r) => r.track.kind === 'audio');
  const context = new AudioContext();
  await context.resume();
  const source = context.createMediaStreamSource(new MediaStream([receiver.track]));
  const analyser = context.createAnalyser();
  analyser.fftSize = 8192;
  analyser.smoothingTimeConstant = 0;
  source.connect(analyser);
  window.testAnalyser = { context, analyser };
  return context.sampleRate;
})()"""

# The level in dB at a few frequencies, from the analyser's last block.
LEVELS = """((frequencies) => {
  const { context, analyser } = window.testAnalyser;
  const data = new Float32Array(analyser.frequencyBinCount);
  analyser.getFloatFrequencyData(data);
  return frequencies.map((f) => data[Math.round(f * analyser.fftSize / context.sampleRate)]);
})(%s)"""

BUTTON = "document.querySelector('button.mute')"


def play_tone(peer) -> None:
    assert peer.command(f"audio-tone stream=1 freq={TONE_HZ} level=0.5 duration=120 "
                        "wait=0")["ok"]


def wait_audio_decoded(browser, page: str, more_than: int = 0) -> dict:
    def decoded():
        stats = browser.eval(page, AUDIO_STATS)
        return stats if stats and stats["samples"] > more_than and stats["packets"] > 0 else None
    return wait_for(decoded, 20, 0.5, what=f"page {page} decoding audio packets")


def wait_tone_heard(browser, page: str, what: str) -> None:
    """The page's analyser (START_ANALYSER) hears TONE_HZ well above its neighbours."""
    def tone_heard():
        at, below, above = browser.eval(page, LEVELS % [TONE_HZ, TONE_HZ * 0.7, TONE_HZ * 1.5])
        return (at, below, above) if at > -40 and at - max(below, above) > 30 else None
    wait_for(tone_heard, 20, 0.5, what=f"the analyser hearing {TONE_HZ} Hz{what}")


def test_the_page_plays_the_vms_sound(session, artifacts, tmp_path, web, browser):
    with peer_playing(session, artifacts, tmp_path, web, "websnd") as (run, _):
        open_page(browser, web[0], "p")
        play_tone(run.peer)
        stats = wait_audio_decoded(browser, "p")
        assert stats["codec"].lower() == "audio/opus", stats
        # Muted until a click, as browsers want; the button says what it does.
        assert browser.eval("p", "document.getElementById('screen').muted") is True
        assert browser.eval("p", f"{BUTTON}.hidden") is False
        assert browser.eval("p", f"{BUTTON}.textContent") == "unmute"

        rate = browser.eval("p", START_ANALYSER)
        assert rate > 0
        wait_tone_heard(browser, "p", "")

        browser.click_element("p", "button.mute")
        assert browser.eval("p", "document.getElementById('screen').muted") is False
        assert browser.eval("p", f"{BUTTON}.textContent") == "mute"
        assert browser.eval("p", "document.getElementById('screen').paused") is False
        browser.click_element("p", "button.mute")
        assert browser.eval("p", "document.getElementById('screen').muted") is True

        # A new session (the page loaded again) has the sound again.
        before = wait_audio_decoded(browser, "p")["samples"]
        browser.call("close", page="p")
        open_page(browser, web[0], "q")
        wait_audio_decoded(browser, "q")
        assert before > 0


def test_a_six_channel_stream_plays_in_the_page(session, artifacts, tmp_path, web, browser):
    """More than two channels (usb-audio multi=on) are mixed down to the page's stereo Opus;
    they once failed the encoder's pipeline, picture included."""
    with peer_playing(session, artifacts, tmp_path, web, "snd6",
                      init="bits=16 rate=48000 channels=6") as (run, _):
        open_page(browser, web[0], "p")
        play_tone(run.peer)
        assert wait_audio_decoded(browser, "p")["codec"].lower() == "audio/opus"
        assert browser.eval("p", START_ANALYSER) > 0
        wait_tone_heard(browser, "p", " from 6 channels")
        # The picture goes on too (a failed audio branch once stopped the whole encoder).
        frames = browser.state("p")["framesDecoded"]
        assert run.send("update x=0 y=0 width=64 height=64 pattern=random:5")[0]["ok"]
        wait_for(lambda: browser.state("p")["framesDecoded"] > frames, 20, 0.5,
                 what="the picture decoding after the sound")
        run.assert_alive()


def test_a_vm_without_sound_has_no_audio_track(session, artifacts, tmp_path, web, browser):
    with peer_playing(session, artifacts, tmp_path, web, "silent", sound=False):
        open_page(browser, web[0], "p")
        assert browser.eval("p", "window.vmcast.peer().getReceivers()"
                                 ".filter((r) => r.track.kind === 'audio').length") == 0
        assert browser.eval("p", f"{BUTTON}.hidden") is True
