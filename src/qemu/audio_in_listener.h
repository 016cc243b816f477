// vmcast's audio input listener for one VM (-audiodev dbus, the VM's microphone): registers
// with org.qemu.Display1.Audio (RegisterInListener) over its own socket pair, serves
// org.qemu.Display1.AudioInListener there, validates every call, and answers QEMU's Read with
// a viewer's microphone (common/microphone.h) in the format QEMU records in. QEMU waits for
// each Read with its main loop (a synchronous call): the answer is whatever sound waits, made
// up to the size asked with silence, never a wait for the page.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <gio/gio.h>

#include "common/microphone.h"
#include "common/pcm_format.h"
#include "qemu/audio_calls.h"
#include "qemu/audio_registration.h"

namespace vmcast::qemu {

class AudioInListener final : public AudioVoiceMethods {
  public:
    // bus_name is QEMU's name on the bus, or empty on a peer-to-peer connection.
    AudioInListener(GDBusConnection *bus, const std::string &bus_name,
                    std::shared_ptr<Microphone> microphone, std::string log_name);
    AudioInListener(const AudioInListener &) = delete;
    AudioInListener &operator=(const AudioInListener &) = delete;
    ~AudioInListener() override;

    // Registers, asynchronously: a failure is one warning, and the VM hears no microphone.
    void start() { registration_.start(); }

    // AudioInListener's methods, called by the connection's vtable.
    void init(ListenerCall call, uint64_t id, const AudioInit &init) override;
    void fini(ListenerCall call, uint64_t id) override;
    void set_enabled(ListenerCall call, uint64_t id, bool enabled) override;
    void set_volume(ListenerCall call, uint64_t id, bool mute,
                    std::span<const uint8_t> volume) override;
    void read(ListenerCall call, uint64_t id, uint64_t size);

  private:
    // QEMU's recording streams (one per sound device voice), oldest first; the microphone goes
    // to the oldest, the others hear silence.
    struct Stream {
        uint64_t id;
        PcmFormat format;
    };
    Stream *find(uint64_t id);
    void reject(ListenerCall &call, const char *method, const std::string &reason);
    void connection_closed();
    void hear_oldest();

    std::shared_ptr<Microphone> microphone_;
    std::string log_name_;
    std::vector<Stream> streams_;
    std::vector<uint8_t> answer_; // Read's answer, kept for its capacity
    // Last: it goes first, so no call of QEMU's reaches a listener half gone.
    AudioRegistration registration_;
};

} // namespace vmcast::qemu
