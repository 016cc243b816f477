// What QEMU's audio output and input listeners share (AudioOutListener and AudioInListener in
// org.qemu.Display1): the voice set-up calls, sd-bus handlers that read their arguments, and
// the voices QEMU set up, with their checks.
#pragma once

#include <systemd/sd-bus.h>

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "common/pcm_format.h"

#include "qemu/audio_format.h"
#include "qemu/listener_bus.h"

namespace vmcast::qemu {

// Each voice (stream) of QEMU's has an id; the arguments are QEMU's, unchecked.
class AudioVoiceMethods {
  public:
    virtual ~AudioVoiceMethods() = default;
    virtual void init(ListenerCall call, uint64_t id, const AudioInit &init) = 0;
    virtual void fini(ListenerCall call, uint64_t id) = 0;
    virtual void set_enabled(ListenerCall call, uint64_t id, bool enabled) = 0;
    virtual void set_volume(ListenerCall call, uint64_t id, bool mute,
                            std::span<const uint8_t> volume) = 0;
};

// sd-bus method handlers for a vtable whose userdata is an AudioVoiceMethods *.
int on_audio_init(sd_bus_message *message, void *userdata, sd_bus_error *);
int on_audio_fini(sd_bus_message *message, void *userdata, sd_bus_error *);
int on_audio_set_enabled(sd_bus_message *message, void *userdata, sd_bus_error *);
int on_audio_set_volume(sd_bus_message *message, void *userdata, sd_bus_error *);
// An ay argument, read in place.
int read_audio_bytes(sd_bus_message *message, std::span<const uint8_t> &bytes);
// The Interfaces property (QEMU 8.1+ reads it while registering): no optional interface.
int get_no_audio_interfaces(sd_bus *, const char *, const char *, const char *,
                            sd_bus_message *reply, void *, sd_bus_error *);

// QEMU's voices of one listener (one per sound device voice), oldest first. Each check answers
// the call with Error.Invalid and a warning when it fails.
class AudioVoices {
  public:
    struct Voice {
        uint64_t id;
        PcmFormat format;
        bool enabled = false; // QEMU plays or records it (SetEnabled)
    };

    // what names the listener in warnings ("audio", "microphone"), after log_name.
    AudioVoices(std::string log_name, const char *what)
        : log_name_(std::move(log_name)), what_(what) {}

    // Init: the voice added, or set up again in a new format; nullptr for a format refused.
    const Voice *init(ListenerCall &call, uint64_t id, const AudioInit &init);
    // The voice a call names, or nullptr for an unknown one.
    const Voice *known(ListenerCall &call, const char *method, uint64_t id);
    // Fini: false for an unknown voice.
    bool remove(ListenerCall &call, uint64_t id);
    // SetEnabled: the voice, or nullptr for an unknown one.
    const Voice *enable(ListenerCall &call, uint64_t id, bool enabled);
    // Write's or Read's size: whole frames of the voice, at most a second of sound.
    bool whole_frames(ListenerCall &call, const char *method, const Voice &voice, uint64_t bytes);
    void reject(ListenerCall &call, const char *method, const std::string &reason);

    const Voice *oldest() const { return voices_.empty() ? nullptr : &voices_.front(); }
    void clear() { voices_.clear(); }
    const std::string &log_name() const { return log_name_; }

  private:
    Voice *find(ListenerCall &call, const char *method, uint64_t id);

    std::string log_name_;
    const char *what_;
    std::vector<Voice> voices_;
};

} // namespace vmcast::qemu
