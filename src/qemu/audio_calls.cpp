#include "qemu/audio_calls.h"

#include <systemd/sd-bus.h>

#include <algorithm>

namespace vmcast::qemu {
namespace {

AudioVoiceMethods &voice_methods(void *userdata) {
    return *static_cast<AudioVoiceMethods *>(userdata);
}

} // namespace

int on_audio_init(sd_bus_message *message, void *userdata, sd_bus_error *) {
    uint64_t id;
    uint8_t bits, channels;
    int is_signed, is_float, big_endian;
    uint32_t rate, bytes_per_frame, bytes_per_second;
    const int r =
        sd_bus_message_read(message, "tybbuyuub", &id, &bits, &is_signed, &is_float, &rate,
                            &channels, &bytes_per_frame, &bytes_per_second, &big_endian);
    if (r < 0)
        return r;
    voice_methods(userdata).init(ListenerCall(message), id,
                                 {bits, is_signed != 0, is_float != 0, rate, channels,
                                  bytes_per_frame, bytes_per_second, big_endian != 0});
    return 1;
}

int on_audio_fini(sd_bus_message *message, void *userdata, sd_bus_error *) {
    uint64_t id;
    const int r = sd_bus_message_read(message, "t", &id);
    if (r < 0)
        return r;
    voice_methods(userdata).fini(ListenerCall(message), id);
    return 1;
}

int on_audio_set_enabled(sd_bus_message *message, void *userdata, sd_bus_error *) {
    uint64_t id;
    int enabled;
    const int r = sd_bus_message_read(message, "tb", &id, &enabled);
    if (r < 0)
        return r;
    voice_methods(userdata).set_enabled(ListenerCall(message), id, enabled != 0);
    return 1;
}

int read_audio_bytes(sd_bus_message *message, std::span<const uint8_t> &bytes) {
    const void *data = nullptr;
    size_t size = 0;
    const int r = sd_bus_message_read_array(message, 'y', &data, &size);
    bytes = {static_cast<const uint8_t *>(data), size};
    return r;
}

int on_audio_set_volume(sd_bus_message *message, void *userdata, sd_bus_error *) {
    uint64_t id;
    int mute;
    std::span<const uint8_t> volume;
    int r = sd_bus_message_read(message, "tb", &id, &mute);
    if (r >= 0)
        r = read_audio_bytes(message, volume);
    if (r < 0)
        return r;
    voice_methods(userdata).set_volume(ListenerCall(message), id, mute != 0, volume);
    return 1;
}

int get_no_audio_interfaces(sd_bus *, const char *, const char *, const char *,
                            sd_bus_message *reply, void *, sd_bus_error *) {
    static const char *const none[] = {nullptr};
    return sd_bus_message_append_strv(reply, const_cast<char **>(none));
}

const AudioVoices::Voice *AudioVoices::init(ListenerCall &call, uint64_t id,
                                            const AudioInit &init) {
    std::string error;
    const std::optional<PcmFormat> format = pcm_format(init, error);
    if (!format) {
        reject(call, "Init", "unsupported audio format: " + error);
        return nullptr;
    }
    auto found = std::ranges::find(voices_, id, &Voice::id);
    if (found != voices_.end()) {
        found->format = *format; // QEMU set the voice up again
        return &*found;
    }
    g_info("%s: %s stream %llu: %s", log_name_.c_str(), what_, static_cast<unsigned long long>(id),
           describe(*format).c_str());
    return &voices_.emplace_back(Voice{id, *format});
}

AudioVoices::Voice *AudioVoices::find(ListenerCall &call, const char *method, uint64_t id) {
    auto found = std::ranges::find(voices_, id, &Voice::id);
    if (found != voices_.end())
        return &*found;
    reject(call, method, "unknown audio stream " + std::to_string(id));
    return nullptr;
}

const AudioVoices::Voice *AudioVoices::known(ListenerCall &call, const char *method, uint64_t id) {
    return find(call, method, id);
}

bool AudioVoices::remove(ListenerCall &call, uint64_t id) {
    if (!known(call, "Fini", id))
        return false;
    std::erase_if(voices_, [id](const Voice &voice) { return voice.id == id; });
    return true;
}

const AudioVoices::Voice *AudioVoices::enable(ListenerCall &call, uint64_t id, bool enabled) {
    Voice *voice = find(call, "SetEnabled", id);
    if (voice) {
        voice->enabled = enabled;
        g_debug("%s: %s stream %llu %s", log_name_.c_str(), what_,
                static_cast<unsigned long long>(id), enabled ? "enabled" : "disabled");
    }
    return voice;
}

bool AudioVoices::whole_frames(ListenerCall &call, const char *method, const Voice &voice,
                               uint64_t bytes) {
    const uint32_t frame_bytes = voice.format.bytes_per_frame();
    if (bytes % frame_bytes != 0) {
        reject(call, method,
               std::to_string(bytes) + " bytes, not whole frames of " +
                   std::to_string(frame_bytes) + " bytes");
        return false;
    }
    // More than QEMU ever writes or reads at once (its period, 10 ms by default).
    if (bytes > uint64_t(voice.format.rate) * frame_bytes) {
        reject(call, method, std::to_string(bytes) + " bytes, over a second of sound");
        return false;
    }
    return true;
}

void AudioVoices::reject(ListenerCall &call, const char *method, const std::string &reason) {
    g_warning("%s: refused %s %s from QEMU: %s", log_name_.c_str(), what_, method, reason.c_str());
    call.reject(reason);
}

} // namespace vmcast::qemu
