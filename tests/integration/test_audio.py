"""The VM's sound (-audiodev dbus): real QEMU 7.2 takes vmcast's audio listener, and the fake
QEMU peer plays tones through the real
org.qemu.Display1.Audio protocol (RegisterOutListener, then Init/SetEnabled/Write on vmcast's
AudioOutListener), and pw-record, a real PipeWire consumer of vmcast.<VM>.audio, hears each
tone at its frequency and level. Formats QEMU never sends are refused with a clear error while
the video goes on; the node follows PipeWire restarts and a new QEMU of the same VM.
"""
from __future__ import annotations

import os
import time

import pytest

from peer_streaming import streamed_peer
from vmcast_testlib import Qemu, wait_for
from vmcast_testlib.audio import AudioRecording, block_amplitude, loud_part, rms
from vmcast_testlib.fake_qemu import FakeQemu

INVALID = "org.qemu.Display1.Error.Invalid"


def audio_node(session, name: str, timeout: float = 20) -> dict:
    return wait_for(lambda: session.find_node(f"vmcast.{name}.audio"), timeout, 0.2,
                    what=f"PipeWire node vmcast.{name}.audio")


def hear_tone(session, peer: FakeQemu, name: str, tmp_path, *, rate=48000, channels=2,
              freq=440.0, level=0.5, heard_level=None, label="tone") -> None:
    """Plays a tone on voice 1 and checks that a consumer hears it at freq and level (or
    heard_level, after the guest's volume), on every channel, and nothing at other
    frequencies."""
    expected = level if heard_level is None else heard_level
    node = audio_node(session, name)
    with AudioRecording(session, f"vmcast.{name}.audio", tmp_path / f"{label}.wav", rate=rate,
                        channels=channels) as recording:
        recording.wait_linked(node["id"])
        result = peer.command(f"audio-tone stream=1 freq={freq} level={level} duration=1.5",
                              timeout=15)
        assert result["ok"], result
        recorded = recording.stop()
    for channel, samples in enumerate(recorded):
        tone = loud_part(samples, rate)
        assert len(tone) > rate // 2, f"{label}: channel {channel} heard {len(tone)} loud samples"
        heard = block_amplitude(tone, rate, freq)
        assert abs(heard - expected) < 0.03 * expected, \
            f"{label}: channel {channel} at {heard:.4f}, not {expected:.4f}"
        # A sine and nothing else: its power is all at freq.
        assert abs(rms(tone) - expected / 2 ** 0.5) < 0.03 * expected, f"{label}: not a pure tone"
        for other in (freq / 2, freq * 1.5, freq * 3):
            assert block_amplitude(tone, rate, other) < 0.02 * expected, \
                f"{label}: heard {other} Hz"


@pytest.fixture
def peer_with_sound(session, artifacts, tmp_path):
    with streamed_peer(session, artifacts, tmp_path, name="snd", peer_args=["--audio"]) as run:
        assert run.peer.command("wait-audio-listener timeout=20", timeout=25)["ok"]
        yield run


def test_a_tone_reaches_the_audio_node(session, peer_with_sound, tmp_path):
    peer = peer_with_sound.peer
    assert session.find_node("vmcast.snd.audio") is None, "a node before QEMU plays anything"
    assert peer.command("audio-init stream=1 bits=16 rate=48000 channels=2")["ok"]
    assert peer.command("audio-enable stream=1 enabled=1")["ok"]
    props = audio_node(session, "snd")["info"]["props"]
    assert props["media.class"] == "Audio/Source"
    assert props["vmcast.vm.name"] == "snd"
    hear_tone(session, peer, "snd", tmp_path, freq=440, level=0.5)
    # The guest's volume applies: half on both channels.
    assert peer.command("audio-volume stream=1 mute=0 levels=128,128")["ok"]
    hear_tone(session, peer, "snd", tmp_path, freq=1000, level=0.5, heard_level=0.5 * 128 / 255,
              label="half volume")
    # QEMU ends the stream: the node goes.
    assert peer.command("audio-fini stream=1")["ok"]
    wait_for(lambda: session.find_node("vmcast.snd.audio") is None, 10, 0.2,
             what="the audio node gone after Fini")
    peer_with_sound.assert_alive()


def test_a_mono_stream_takes_qemus_two_volumes(session, peer_with_sound, tmp_path):
    """QEMU's AUD_set_volume_out sends two volumes whatever the stream's channels."""
    peer = peer_with_sound.peer
    assert peer.command("audio-init stream=1 bits=16 rate=48000 channels=1")["ok"]
    assert peer.command("audio-volume stream=1 mute=0 levels=128,128")["ok"]
    hear_tone(session, peer, "snd", tmp_path, rate=48000, channels=1, freq=1000, level=0.5,
              heard_level=0.5 * 128 / 255, label="mono_half_volume")


@pytest.mark.parametrize("init,rate,channels", [
    ("bits=32 float=1 rate=44100 channels=1", 44100, 1),
    ("bits=8 signed=0 rate=22050 channels=2", 22050, 2),
    ("bits=16 signed=1 be=1 rate=48000 channels=2", 48000, 2),
    ("bits=32 signed=1 be=1 rate=32000 channels=2", 32000, 2),
    ("bits=16 signed=0 rate=16000 channels=1", 16000, 1),
    ("bits=32 signed=0 rate=48000 channels=2", 48000, 2),
])
def test_every_format_qemu_plays(session, peer_with_sound, tmp_path, init, rate, channels):
    peer = peer_with_sound.peer
    assert peer.command(f"audio-init stream=1 {init}")["ok"]
    # 8-bit samples are coarse: a level they carry closely.
    hear_tone(session, peer, "snd", tmp_path, rate=rate, channels=channels, freq=660,
              level=0.5, label=init.replace(" ", "_").replace("=", ""))


BAD_INITS = [
    ("channels=0", "0 channels"),
    ("channels=9", "9 channels"),
    ("rate=0", "a rate of 0 Hz"),
    ("rate=4000000", "a rate of 4000000 Hz"),
    ("bits=24", "24 bits a sample"),
    ("bits=16 float=1", "floating point samples of 16 bits"),
    ("bits=16 channels=2 bytes_per_frame=6", "6 bytes a frame"),
    ("bits=16 channels=2 rate=48000 bytes_per_second=1000", "1000 bytes a second"),
]


def test_formats_qemu_never_sends_are_refused_and_the_video_goes_on(session, peer_with_sound):
    run = peer_with_sound
    peer = run.peer
    for init, reason in BAD_INITS:
        result = peer.command(f"audio-init stream=7 {init}")
        assert not result["ok"] and result["error"] == INVALID, (init, result)
        assert reason in result["message"], (init, result)
    # Writes to a stream vmcast never accepted, of part of a frame, or far too long.
    result = peer.command("audio-write stream=7 len=4")
    assert not result["ok"] and result["error"] == INVALID and "unknown audio stream 7" in \
        result["message"], result
    assert peer.command("audio-init stream=1 bits=16 channels=2")["ok"]
    result = peer.command("audio-write stream=1 len=6")
    assert not result["ok"] and "not whole frames of 4 bytes" in result["message"], result
    result = peer.command("audio-write stream=1 len=400000")
    assert not result["ok"] and "over a second of sound" in result["message"], result
    result = peer.command("audio-volume stream=1")
    assert not result["ok"] and "no volumes" in result["message"], result
    result = peer.command("audio-fini stream=9")
    assert not result["ok"] and "unknown audio stream 9" in result["message"], result
    run.assert_alive()
    # The video goes on, and so does the good stream.
    result, picture = run.send("scanout width=64 height=48 pattern=gradient")
    assert result["ok"], result
    run.wait_picture(picture, what="picture after bad audio")
    assert peer.command("audio-write stream=1 len=1920")["ok"]


def test_the_audio_node_follows_pipewire_and_a_new_qemu(session, artifacts, tmp_path):
    vmcast_bin = os.environ["VMCAST_BIN"]
    vmcast = session.spawn([vmcast_bin, "run", "--verbose"], name="vmcast")
    for round_ in range(2):
        with FakeQemu(session.env, name="again", extra_args=["--audio"]) as peer:
            assert peer.command("wait-audio-listener timeout=20", timeout=25)["ok"]
            assert peer.command("audio-init stream=1")["ok"]
            hear_tone(session, peer, "again", tmp_path, label=f"qemu-{round_}")
            if round_ == 0:
                for daemon in ("wireplumber", "pipewire"):
                    session.kill_daemon(daemon)
                for daemon in ("pipewire", "wireplumber"):
                    session.start_daemon(daemon)
                hear_tone(session, peer, "again", tmp_path, freq=880, label="pipewire-back")
        # QEMU gone: so is its node.
        wait_for(lambda: session.find_node("vmcast.again.audio") is None, 15, 0.2,
                 what="the audio node gone with its QEMU")
        assert vmcast.poll() is None


@pytest.mark.parametrize("devices", [
    ["-device", "intel-hda", "-device", "hda-duplex,audiodev=snd0"],
    ["-device", "ich9-intel-hda", "-device", "hda-output,audiodev=snd0"],
    ["-device", "AC97,audiodev=snd0"],
], ids=["intel-hda", "ich9-intel-hda", "AC97"])
def test_real_qemu_takes_the_audio_listener(session, devices):
    """QEMU 7.2 answers RegisterOutListener, then sends Init for its sound device's voice (its
    44.1 kHz stereo S16 default): the node is there with that format, and QEMU says nothing."""
    vmcast_bin = os.environ["VMCAST_BIN"]
    with Qemu(session, name="realsnd", audiodev="snd0", extra_args=devices) as qemu:
        vmcast = session.spawn([vmcast_bin, "run", "--verbose"], name="vmcast")
        node = audio_node(session, "realsnd", timeout=30)
        assert node["info"]["props"]["media.class"] == "Audio/Source"
        formats = node["info"]["params"]["EnumFormat"]
        assert [(f["format"], f["rate"], f["channels"]) for f in formats] == \
            [("S16LE", 44100, 2)], formats
        assert vmcast.poll() is None
        assert qemu.stderr_tail().strip() == "", qemu.stderr_tail()


def test_qemu_7_2_over_p2p_keeps_running_without_sound(session):
    """QEMU before 8.0 keys audio listeners by the caller's bus name, which a peer-to-peer
    connection lacks: vmcast must not register there. The VM is streamed, silent, and QEMU
    keeps running."""
    vmcast_bin = os.environ["VMCAST_BIN"]
    qmp_path = session.tmpdir / "vmcast-qmp.sock"
    monitor = ["-chardev", f"socket,id=vmcast-qmp,path={qmp_path},server=on,wait=off",
               "-mon", "chardev=vmcast-qmp,mode=control"]
    with Qemu(session, name="p2psnd", p2p=True, audiodev="snd0",
              extra_args=monitor + ["-device", "intel-hda",
                                    "-device", "hda-duplex,audiodev=snd0"]) as qemu:
        vmcast = session.spawn([vmcast_bin, "run", "--qmp", str(qmp_path), "--verbose"],
                               name="vmcast")
        wait_for(lambda: session.find_node("vmcast.p2psnd.0"), 30, 0.3,
                 what="the console's node over p2p")
        # QEMU would have taken (and crashed on) a registration by now: the node's appearance
        # follows the display listener's, which vmcast starts together with the audio's.
        for _ in range(10):
            assert qemu.proc.poll() is None, f"QEMU exited:\n{qemu.stderr_tail()}"
            assert session.find_node("vmcast.p2psnd.audio") is None
            time.sleep(0.3)
        assert qemu.status() == "running"
        assert vmcast.poll() is None
