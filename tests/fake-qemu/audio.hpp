// QEMU's -audiodev dbus side (audio/dbusaudio.c): the Audio object, its output and input
// listeners, and a pretend sound device whose voices play tones and record (audio_in.cpp).
#pragma once

#include "util.hpp"

#include "common/glib_ptr.h"
#include "qemu-display1.h"

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace fakeqemu {

struct App;

// A voice's PCM format, as Init announces it (any values, for bad input).
struct AudioVoice {
    uint8_t bits = 16;
    bool is_signed = true, is_float = false, big_endian = false;
    uint32_t rate = 48000;
    uint8_t channels = 2;
    uint32_t bytes_per_frame = 4, bytes_per_second = 192000;
};

class Args;

// "bits= signed= float= be= rate= channels= [bytes_per_frame=] [bytes_per_second=]", the two
// sizes computed from the others unless given.
AudioVoice audio_voice_from_args(const Args &args);
// Init's parameters (floating).
GVariant *audio_init_params(uint64_t id, const AudioVoice &v);
// SetVolume's parameters from "mute= levels=a,b" (floating).
GVariant *audio_volume_params(uint64_t id, const Args &args);

struct AudioListener {
    App *app = nullptr;
    int id = 0;
    bool input = false; // an AudioInListener (RegisterInListener), else an AudioOutListener
    std::string key;    // sender, or "p2p"
    GObjPtr<GDBusConnection> conn;
    GObjPtr<GDBusProxy> proxy;
    gulong closed_id = 0;
    ~AudioListener();
};

struct Tone;

// The recording voice (audio-in-start) and what the input listeners answered.
struct Capture {
    uint64_t stream = 1;
    AudioVoice voice;
    uint32_t period_ms = 10;
    uint64_t period_bytes = 0;
    int64_t start_us = 0;
    uint64_t periods_done = 0;
    vmcast::GSourcePtr timer; // while recording
    uint64_t reads = 0, short_reads = 0, failed_reads = 0, frames = 0, late = 0;
    double max_reply_ms = 0;
    std::string first_error;
    // Per frame of the first listener's answers, the last 30 s: the channels' mean and the
    // mean of their squares.
    std::deque<float> mix, power;
};

struct AudioState {
    GObjPtr<GDBusObjectSkeleton> object;
    GObjPtr<QemuDisplayAudio> iface;
    std::vector<std::shared_ptr<AudioListener>> listeners, in_listeners;
    std::map<uint64_t, AudioVoice> voices; // by stream id
    std::unique_ptr<Tone> tone;
    std::unique_ptr<Capture> capture; // since audio-in-start, kept after audio-in-stop
    int next_listener_id = 1;

    AudioState();
    AudioState(const AudioState &) = delete;
    AudioState &operator=(const AudioState &) = delete;
    ~AudioState(); // where Tone is complete
};

void create_audio(App &app);

} // namespace fakeqemu
