// The VM's sound, for a VM whose QEMU publishes it (-audiodev dbus): the audio listener feeding
// the PipeWire node vmcast.<VM>.audio, which exists while QEMU plays a stream and PipeWire is
// connected; with the page's microphones on, also the input listener that hears them.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/audio_tap.h"
#include "common/callback_list.h"
#include "common/microphone.h"
#include "pipewire/audio_stream.h"
#include "qemu/audio_in_listener.h"
#include "qemu/audio_listener.h"
#include "qemu/display_bus.h"

namespace vmcast::app {

class AudioSession final : public qemu::AudioSink {
  public:
    // microphone: register an input listener for the page's microphones.
    AudioSession(pipewire::PipeWireContext &pipewire, GDBusConnection *bus, const qemu::VmInfo &vm,
                 bool microphone);
    AudioSession(const AudioSession &) = delete;
    AudioSession &operator=(const AudioSession &) = delete;
    ~AudioSession() override;

    void start();
    const std::string &node_name() const { return identity_.node_name; }
    // The sound as QEMU plays it, for the page: it walks forward from the QEMU side, whether or
    // not PipeWire is there.
    AudioTap &tap() { return tap_; }
    // What the page's microphones send the VM; nullptr when they are off.
    const std::shared_ptr<Microphone> &microphone() const { return microphone_; }

    void audio_started(const PcmFormat &format) override;
    void audio_samples(std::span<const uint8_t> frames) override;
    void audio_volume(bool mute, std::span<const float> volumes) override;
    void audio_stopped() override;

  private:
    void start_stream();
    void pipewire_connection_changed(bool connected);

    pipewire::PipeWireContext &pipewire_;
    pipewire::AudioIdentity identity_;
    // What QEMU plays now; nullopt between streams.
    std::optional<PcmFormat> format_;
    // The guest's last volume, given again to each new stream.
    struct Volume {
        bool mute;
        std::vector<float> levels;
    };
    std::optional<Volume> volume_;
    AudioTap tap_;
    // Exists while format_ is set and PipeWire is connected.
    std::unique_ptr<pipewire::AudioStream> stream_;
    CallbackList<bool>::Subscription pipewire_watch_;
    std::shared_ptr<Microphone> microphone_;
    std::unique_ptr<qemu::AudioInListener> in_listener_; // with microphone_
    // Last: it goes first, so no call of QEMU's reaches a session half gone.
    qemu::AudioListener listener_;
};

} // namespace vmcast::app
