#include "qemu/audio_listener.h"

#include <systemd/sd-bus.h>

#include <algorithm>
#include <utility>

#include "qemu-display1.h"
#include "qemu/call_timeout.h"

namespace vmcast::qemu {
namespace {

constexpr const char *kAudioPath = "/org/qemu/Display1/Audio";
constexpr const char *kOutListenerPath = "/org/qemu/Display1/AudioOutListener";
// More than QEMU ever writes at once (its mixing period, 10 ms by default).
constexpr uint32_t kMaxWriteSeconds = 1;

bool is_cancelled(const GError *error) {
    return error && g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
}

AudioListener &listener_of(void *userdata) {
    return *static_cast<AudioListener *>(userdata);
}

int on_init(sd_bus_message *message, void *userdata, sd_bus_error *) {
    uint64_t id;
    uint8_t bits, channels;
    int is_signed, is_float, big_endian;
    uint32_t rate, bytes_per_frame, bytes_per_second;
    const int r =
        sd_bus_message_read(message, "tybbuyuub", &id, &bits, &is_signed, &is_float, &rate,
                            &channels, &bytes_per_frame, &bytes_per_second, &big_endian);
    if (r < 0)
        return r;
    listener_of(userdata).init(ListenerCall(message), id,
                               {bits, is_signed != 0, is_float != 0, rate, channels,
                                bytes_per_frame, bytes_per_second, big_endian != 0});
    return 1;
}

int on_fini(sd_bus_message *message, void *userdata, sd_bus_error *) {
    uint64_t id;
    const int r = sd_bus_message_read(message, "t", &id);
    if (r < 0)
        return r;
    listener_of(userdata).fini(ListenerCall(message), id);
    return 1;
}

int on_set_enabled(sd_bus_message *message, void *userdata, sd_bus_error *) {
    uint64_t id;
    int enabled;
    const int r = sd_bus_message_read(message, "tb", &id, &enabled);
    if (r < 0)
        return r;
    listener_of(userdata).set_enabled(ListenerCall(message), id, enabled != 0);
    return 1;
}

int read_bytes(sd_bus_message *message, std::span<const uint8_t> &bytes) {
    const void *data = nullptr;
    size_t size = 0;
    const int r = sd_bus_message_read_array(message, 'y', &data, &size);
    bytes = {static_cast<const uint8_t *>(data), size};
    return r;
}

int on_set_volume(sd_bus_message *message, void *userdata, sd_bus_error *) {
    uint64_t id;
    int mute;
    std::span<const uint8_t> volume;
    int r = sd_bus_message_read(message, "tb", &id, &mute);
    if (r >= 0)
        r = read_bytes(message, volume);
    if (r < 0)
        return r;
    listener_of(userdata).set_volume(ListenerCall(message), id, mute != 0, volume);
    return 1;
}

int on_write(sd_bus_message *message, void *userdata, sd_bus_error *) {
    uint64_t id;
    std::span<const uint8_t> data;
    int r = sd_bus_message_read(message, "t", &id);
    if (r >= 0)
        r = read_bytes(message, data);
    if (r < 0)
        return r;
    listener_of(userdata).write(ListenerCall(message), id, data);
    return 1;
}

// QEMU 8.1+ reads it while registering; vmcast implements no optional interface.
int get_interfaces(sd_bus *, const char *, const char *, const char *, sd_bus_message *reply,
                   void *, sd_bus_error *) {
    static const char *const none[] = {nullptr};
    return sd_bus_message_append_strv(reply, const_cast<char **>(none));
}

const sd_bus_vtable kOutListenerVtable[] = {
    SD_BUS_VTABLE_START(0),
    SD_BUS_METHOD("Init", "tybbuyuub", "", on_init, 0),
    SD_BUS_METHOD("Fini", "t", "", on_fini, 0),
    SD_BUS_METHOD("SetEnabled", "tb", "", on_set_enabled, 0),
    SD_BUS_METHOD("SetVolume", "tbay", "", on_set_volume, 0),
    SD_BUS_METHOD("Write", "tay", "", on_write, 0),
    SD_BUS_PROPERTY("Interfaces", "as", get_interfaces, 0, SD_BUS_VTABLE_PROPERTY_CONST),
    SD_BUS_VTABLE_END,
};

} // namespace

AudioListener::AudioListener(GDBusConnection *bus, const std::string &bus_name, AudioSink &sink,
                             std::string log_name)
    : bus_(bus), bus_name_(bus_name), sink_(sink), log_name_(std::move(log_name)) {}

AudioListener::~AudioListener() {
    connection_.reset();
    g_cancellable_cancel(cancellable_.get());
}

void AudioListener::start() {
    const char *name = bus_name_.empty() ? nullptr : bus_name_.c_str();
    // Asynchronous, as for the consoles: QEMU may be waiting on another listener's handshake.
    qemu_display_audio_proxy_new(bus_, G_DBUS_PROXY_FLAGS_DO_NOT_AUTO_START, name, kAudioPath,
                                 cancellable_.get(), on_audio_ready, this);
}

void AudioListener::on_audio_ready(GObject *, GAsyncResult *result, gpointer self) {
    GError *raw_error = nullptr;
    QemuDisplayAudio *audio = qemu_display_audio_proxy_new_finish(result, &raw_error);
    GErrorPtr error(raw_error);
    if (is_cancelled(error.get()))
        return;
    auto *listener = static_cast<AudioListener *>(self);
    if (!audio) {
        g_warning("%s: cannot reach the VM's audio: %s", listener->log_name_.c_str(),
                  error->message);
        return;
    }
    listener->audio_.reset(audio);
    g_dbus_proxy_set_default_timeout(G_DBUS_PROXY(audio), kQemuCallTimeoutMs);
    std::string register_error;
    if (!listener->register_listener(register_error))
        g_warning("%s: %s", listener->log_name_.c_str(), register_error.c_str());
}

bool AudioListener::register_listener(std::string &error) {
    // QEMU answers, then authenticates and reads our properties synchronously in its main
    // loop: the object is in place and the handshake runs on our main loop meanwhile.
    const ServedInterface interfaces[] = {
        {kOutListenerPath, "org.qemu.Display1.AudioOutListener", kOutListenerVtable, this}};
    GObjectPtr<GUnixFDList> fds;
    connection_ = ListenerBus::serve_new_pair(
        interfaces, [this] { connection_closed(); }, fds, error);
    if (!connection_) {
        error = "cannot serve the audio listener: " + error;
        return false;
    }
    qemu_display_audio_call_register_out_listener(audio_.get(), g_variant_new_handle(0), fds.get(),
                                                  cancellable_.get(), on_registered, this);
    return true;
}

void AudioListener::on_registered(GObject *source, GAsyncResult *result, gpointer self) {
    GError *raw_error = nullptr;
    qemu_display_audio_call_register_out_listener_finish(QEMU_DISPLAY_AUDIO(source), nullptr,
                                                         result, &raw_error);
    GErrorPtr error(raw_error);
    if (is_cancelled(error.get()))
        return;
    auto *listener = static_cast<AudioListener *>(self);
    if (error) {
        g_warning("%s: QEMU refused the audio listener: %s", listener->log_name_.c_str(),
                  error->message);
        listener->connection_.reset();
        return;
    }
    g_info("%s: audio listener registered", listener->log_name_.c_str());
}

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
