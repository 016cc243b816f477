#include "qemu/audio_listener.h"

#include <systemd/sd-bus.h>

#include <algorithm>
#include <utility>

namespace vmcast::qemu {
namespace {

constexpr const char *kOutListenerPath = "/org/qemu/Display1/AudioOutListener";
// More than QEMU ever writes at once (its mixing period, 10 ms by default).
constexpr uint32_t kMaxWriteSeconds = 1;

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
    : sink_(sink), log_name_(log_name),
      registration_(
          bus, bus_name, AudioDirection::Out,
          {kOutListenerPath, "org.qemu.Display1.AudioOutListener", kOutListenerVtable,
           static_cast<AudioVoiceMethods *>(this)},
          [this] { connection_closed(); }, std::move(log_name)) {}

AudioListener::~AudioListener() = default;

AudioListener::Stream *AudioListener::find(uint64_t id) {
    auto found = std::find_if(streams_.begin(), streams_.end(),
                              [id](const Stream &stream) { return stream.id == id; });
    return found == streams_.end() ? nullptr : &*found;
}

void AudioListener::reject(ListenerCall &call, const char *method, const std::string &reason) {
    g_warning("%s: refused %s from QEMU: %s", log_name_.c_str(), method, reason.c_str());
    call.reject(reason);
}

void AudioListener::init(ListenerCall call, uint64_t id, const AudioInit &init) {
    std::string error;
    const std::optional<PcmFormat> format = pcm_format(init, error);
    if (!format) {
        reject(call, "Init", "unsupported audio format: " + error);
        return;
    }
    if (Stream *known = find(id)) {
        known->format = *format; // QEMU set the voice up again
        if (played_ == id)
            sink_.audio_started(*format);
        return;
    }
    g_info("%s: audio stream %llu: %s", log_name_.c_str(), static_cast<unsigned long long>(id),
           describe(*format).c_str());
    streams_.push_back({id, *format});
    if (!played_)
        play_next();
}

void AudioListener::fini(ListenerCall call, uint64_t id) {
    if (!find(id)) {
        reject(call, "Fini", "unknown audio stream " + std::to_string(id));
        return;
    }
    std::erase_if(streams_, [id](const Stream &stream) { return stream.id == id; });
    if (played_ != id)
        return;
    played_.reset();
    sink_.audio_stopped();
    play_next();
}

void AudioListener::play_next() {
    if (streams_.empty())
        return;
    played_ = streams_.front().id;
    sink_.audio_started(streams_.front().format);
}

void AudioListener::set_enabled(ListenerCall call, uint64_t id, bool enabled) {
    if (!find(id)) {
        reject(call, "SetEnabled", "unknown audio stream " + std::to_string(id));
        return;
    }
    // QEMU writes only while enabled; the node plays silence meanwhile.
    g_debug("%s: audio stream %llu %s", log_name_.c_str(), static_cast<unsigned long long>(id),
            enabled ? "enabled" : "disabled");
}

void AudioListener::set_volume(ListenerCall call, uint64_t id, bool mute,
                               std::span<const uint8_t> volume) {
    const Stream *stream = find(id);
    if (!stream) {
        reject(call, "SetVolume", "unknown audio stream " + std::to_string(id));
        return;
    }
    // QEMU's AUD_set_volume_out always sends two volumes, whatever the stream's channels: the
    // last one given stands for the channels past it, and extra ones are dropped.
    if (volume.empty()) {
        reject(call, "SetVolume", "no volumes");
        return;
    }
    if (played_ != id)
        return;
    std::vector<float> volumes;
    for (uint32_t channel = 0; channel < stream->format.channels; ++channel)
        volumes.push_back(float(volume[std::min<size_t>(channel, volume.size() - 1)]) / 255.0f);
    sink_.audio_volume(mute, volumes);
}

void AudioListener::write(ListenerCall call, uint64_t id, std::span<const uint8_t> data) {
    const Stream *stream = find(id);
    if (!stream) {
        reject(call, "Write", "unknown audio stream " + std::to_string(id));
        return;
    }
    const uint32_t frame_bytes = stream->format.bytes_per_frame();
    if (data.size() % frame_bytes != 0) {
        reject(call, "Write",
               std::to_string(data.size()) + " bytes, not whole frames of " +
                   std::to_string(frame_bytes) + " bytes");
        return;
    }
    if (data.size() > size_t(kMaxWriteSeconds) * stream->format.rate * frame_bytes) {
        reject(call, "Write", std::to_string(data.size()) + " bytes, over a second of sound");
        return;
    }
    if (played_ == id)
        sink_.audio_samples(data);
}

void AudioListener::connection_closed() {
    g_info("%s: QEMU closed the audio connection", log_name_.c_str());
    streams_.clear();
    if (std::exchange(played_, std::nullopt))
        sink_.audio_stopped();
}

} // namespace vmcast::qemu
