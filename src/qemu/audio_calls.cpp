#include "qemu/audio_calls.h"

#include <systemd/sd-bus.h>

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

} // namespace vmcast::qemu
