#include "qemu/audio_listener.h"

#include <systemd/sd-bus.h>

#include <algorithm>
#include <utility>

namespace vmcast::qemu {
namespace {

constexpr const char *kOutListenerPath = "/org/qemu/Display1/AudioOutListener";

int on_write(sd_bus_message *message, void *userdata, sd_bus_error *) {
    uint64_t id;
    std::span<const uint8_t> data;
    int r = sd_bus_message_read(message, "t", &id);
    if (r >= 0)
        r = read_audio_bytes(message, data);
    if (r < 0)
        return r;
    static_cast<AudioListener &>(*static_cast<AudioVoiceMethods *>(userdata))
        .write(ListenerCall(message), id, data);
    return 1;
}

const sd_bus_vtable kOutListenerVtable[] = {
    SD_BUS_VTABLE_START(0),
    SD_BUS_METHOD("Init", "tybbuyuub", "", on_audio_init, 0),
    SD_BUS_METHOD("Fini", "t", "", on_audio_fini, 0),
    SD_BUS_METHOD("SetEnabled", "tb", "", on_audio_set_enabled, 0),
    SD_BUS_METHOD("SetVolume", "tbay", "", on_audio_set_volume, 0),
    SD_BUS_METHOD("Write", "tay", "", on_write, 0),
    SD_BUS_PROPERTY("Interfaces", "as", get_no_audio_interfaces, 0, SD_BUS_VTABLE_PROPERTY_CONST),
    SD_BUS_VTABLE_END,
};

} // namespace

AudioListener::AudioListener(GDBusConnection *bus, const std::string &bus_name, AudioSink &sink,
                             std::string log_name)
    : sink_(sink), voices_(log_name, "audio"),
      registration_(
          bus, bus_name, AudioDirection::Out,
          {kOutListenerPath, "org.qemu.Display1.AudioOutListener", kOutListenerVtable,
           static_cast<AudioVoiceMethods *>(this)},
          [this] { connection_closed(); }, std::move(log_name)) {}

AudioListener::~AudioListener() = default;

void AudioListener::init(ListenerCall call, uint64_t id, const AudioInit &init) {
    const bool playing = played_.has_value();
    const AudioVoices::Voice *voice = voices_.init(call, id, init);
    if (!voice)
        return;
    if (played_ == id)
        sink_.audio_started(voice->format); // QEMU set the voice up again
    else if (!playing)
        play_next();
}

void AudioListener::fini(ListenerCall call, uint64_t id) {
    if (!voices_.remove(call, id) || played_ != id)
        return;
    played_.reset();
    sink_.audio_stopped();
    play_next();
}

void AudioListener::play_next() {
    const AudioVoices::Voice *oldest = voices_.oldest();
    if (!oldest)
        return;
    played_ = oldest->id;
    sink_.audio_started(oldest->format);
}

void AudioListener::set_enabled(ListenerCall call, uint64_t id, bool enabled) {
    // QEMU writes only while enabled; the node plays silence meanwhile.
    voices_.enable(call, id, enabled);
}

void AudioListener::set_volume(ListenerCall call, uint64_t id, bool mute,
                               std::span<const uint8_t> volume) {
    const AudioVoices::Voice *voice = voices_.known(call, "SetVolume", id);
    if (!voice)
        return;
    // QEMU's AUD_set_volume_out always sends two volumes, whatever the stream's channels: the
    // last one given stands for the channels past it, and extra ones are dropped.
    if (volume.empty()) {
        voices_.reject(call, "SetVolume", "no volumes");
        return;
    }
    if (played_ != id)
        return;
    std::vector<float> volumes;
    for (uint32_t channel = 0; channel < voice->format.channels; ++channel)
        volumes.push_back(float(volume[std::min<size_t>(channel, volume.size() - 1)]) / 255.0f);
    sink_.audio_volume(mute, volumes);
}

void AudioListener::write(ListenerCall call, uint64_t id, std::span<const uint8_t> data) {
    const AudioVoices::Voice *voice = voices_.known(call, "Write", id);
    if (!voice || !voices_.whole_frames(call, "Write", *voice, data.size()))
        return;
    if (played_ == id)
        sink_.audio_samples(data);
}

void AudioListener::connection_closed() {
    g_info("%s: QEMU closed the audio connection", voices_.log_name().c_str());
    voices_.clear();
    if (std::exchange(played_, std::nullopt))
        sink_.audio_stopped();
}

} // namespace vmcast::qemu
