// vmcast's audio output listener for one VM (-audiodev dbus): registers with
// org.qemu.Display1.Audio over a private socket pair, as the display listener does, serves
// org.qemu.Display1.AudioOutListener there, validates every call, and hands the sound of one
// stream at a time to an AudioSink.
#pragma once

#include <cstdint>
#include <span>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <gio/gio.h>

#include "common/pcm_format.h"
#include "qemu/audio_calls.h"
#include "qemu/audio_format.h"
#include "qemu/audio_registration.h"
#include "qemu/audio_sink.h"
#include "qemu/listener_bus.h"

namespace vmcast::qemu {

class AudioListener final : public AudioVoiceMethods {
  public:
    // bus_name is QEMU's name on the bus, or empty on a peer-to-peer connection.
    AudioListener(GDBusConnection *bus, const std::string &bus_name, AudioSink &sink,
                  std::string log_name);
    AudioListener(const AudioListener &) = delete;
    AudioListener &operator=(const AudioListener &) = delete;
    ~AudioListener() override;

    // Registers, asynchronously: a failure is one warning, and the VM stays silent.
    void start() { registration_.start(); }

    // AudioOutListener's methods, called by the connection's vtable.
    void init(ListenerCall call, uint64_t id, const AudioInit &init) override;
    void fini(ListenerCall call, uint64_t id) override;
    void set_enabled(ListenerCall call, uint64_t id, bool enabled) override;
    void set_volume(ListenerCall call, uint64_t id, bool mute,
                    std::span<const uint8_t> volume) override;
    void write(ListenerCall call, uint64_t id, std::span<const uint8_t> data);

  private:
    void reject(ListenerCall &call, const char *method, const std::string &reason);
    void connection_closed();
    // The stream the sink hears: the oldest one QEMU has not finished.
    void play_next();

    AudioSink &sink_;
    std::string log_name_;
    // QEMU's playback streams (one per sound device voice), oldest first.
    struct Stream {
        uint64_t id;
        PcmFormat format;
    };
    std::vector<Stream> streams_;
    Stream *find(uint64_t id);
    std::optional<uint64_t> played_;
    // Last: it goes first, so no call of QEMU's reaches a listener half gone.
    AudioRegistration registration_;
};

} // namespace vmcast::qemu
