// What QEMU's audio output and input listeners share (AudioOutListener and AudioInListener in
// org.qemu.Display1): the voice set-up calls, and sd-bus handlers that read their arguments.
#pragma once

#include <systemd/sd-bus.h>

#include <cstdint>
#include <span>

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

} // namespace vmcast::qemu
