// QEMU's -audiodev dbus side (audio/dbusaudio.c): the Audio object, its output listeners, and
// a pretend sound device whose voices play tones.
#pragma once

#include "util.hpp"

#include "qemu-display1.h"

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace fakeqemu {

struct App;

// A playback voice's PCM format, as Init announces it (any values, for bad input).
struct AudioVoice {
    uint8_t bits = 16;
    bool is_signed = true, is_float = false, big_endian = false;
    uint32_t rate = 48000;
    uint8_t channels = 2;
    uint32_t bytes_per_frame = 4, bytes_per_second = 192000;
};

struct AudioListener {
    App *app = nullptr;
    int id = 0;
    std::string key; // sender, or "p2p"
    GObjPtr<GDBusConnection> conn;
    GObjPtr<QemuDisplayAudioOutListener> proxy;
    gulong closed_id = 0;
    ~AudioListener();
};

struct Tone;

struct AudioState {
    GObjPtr<GDBusObjectSkeleton> object;
    GObjPtr<QemuDisplayAudio> iface;
    std::vector<std::shared_ptr<AudioListener>> listeners;
    std::map<uint64_t, AudioVoice> voices; // by stream id
    std::unique_ptr<Tone> tone;
    int next_listener_id = 1;

    AudioState();
    AudioState(const AudioState &) = delete;
    AudioState &operator=(const AudioState &) = delete;
    ~AudioState(); // where Tone is complete
};

void create_audio(App &app);

} // namespace fakeqemu
