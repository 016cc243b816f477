#include "app/audio_session.h"

namespace vmcast::app {

AudioSession::AudioSession(pipewire::PipeWireContext &pipewire, GDBusConnection *bus,
                           const qemu::VmInfo &vm, bool microphone)
    : pipewire_(pipewire), identity_{qemu::audio_node_name(vm.name), "VM " + vm.name + ", sound",
                                     vm.name, vm.uuid},
      pipewire_watch_(pipewire.watch_connection(
          [this](bool connected) { pipewire_connection_changed(connected); })),
      microphone_(microphone ? std::make_shared<Microphone>() : nullptr),
      in_listener_(microphone ? std::make_unique<qemu::AudioInListener>(
                                    bus, vm.bus_name, microphone_, identity_.node_name)
                              : nullptr),
      listener_(bus, vm.bus_name, *this, identity_.node_name) {}

AudioSession::~AudioSession() = default;

void AudioSession::start() {
    listener_.start();
    if (in_listener_)
        in_listener_->start();
}

void AudioSession::start_stream() {
    stream_.reset();
    if (!format_ || !pipewire_.connected())
        return;
    stream_ = std::make_unique<pipewire::AudioStream>(pipewire_, identity_, *format_);
    if (volume_)
        stream_->set_volume(volume_->mute, volume_->levels);
}

void AudioSession::audio_started(const PcmFormat &format) {
    if (stream_ && format_ == format)
        return;
    format_ = format;
    start_stream();
}

void AudioSession::audio_samples(std::span<const uint8_t> frames) {
    if (stream_)
        stream_->write(frames);
    double gain = 1.0;
    if (volume_ && !volume_->levels.empty()) {
        // One gain for the page: the channels' mean.
        gain = 0.0;
        for (float level : volume_->levels)
            gain += level / double(volume_->levels.size());
        if (volume_->mute)
            gain = 0.0;
    }
    if (format_)
        tap_.notify({*format_, frames, gain});
}

void AudioSession::audio_volume(bool mute, std::span<const float> volumes) {
    volume_ = Volume{mute, {volumes.begin(), volumes.end()}};
    if (stream_)
        stream_->set_volume(mute, volumes);
}

void AudioSession::audio_stopped() {
    format_.reset();
    volume_.reset();
    stream_.reset();
}

void AudioSession::pipewire_connection_changed(bool connected) {
    if (connected)
        start_stream();
    else
        stream_.reset();
}

} // namespace vmcast::app
