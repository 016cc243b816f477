#include "qemu/audio_in_listener.h"

#include <systemd/sd-bus.h>

#include <algorithm>
#include <utility>

namespace vmcast::qemu {
namespace {

constexpr const char *kInListenerPath = "/org/qemu/Display1/AudioInListener";
// More than QEMU ever asks for at once (its period, 10 ms by default).
constexpr uint64_t kMaxReadSeconds = 1;

int on_read(sd_bus_message *message, void *userdata, sd_bus_error *) {
    uint64_t id, size;
    const int r = sd_bus_message_read(message, "tt", &id, &size);
    if (r < 0)
        return r;
    auto &listener = static_cast<AudioInListener &>(*static_cast<AudioVoiceMethods *>(userdata));
    listener.read(ListenerCall(message), id, size);
    return 1;
}

const sd_bus_vtable kInListenerVtable[] = {
    SD_BUS_VTABLE_START(0),
    SD_BUS_METHOD("Init", "tybbuyuub", "", on_audio_init, 0),
    SD_BUS_METHOD("Fini", "t", "", on_audio_fini, 0),
    SD_BUS_METHOD("SetEnabled", "tb", "", on_audio_set_enabled, 0),
    SD_BUS_METHOD("SetVolume", "tbay", "", on_audio_set_volume, 0),
    SD_BUS_METHOD("Read", "tt", "ay", on_read, 0),
    SD_BUS_PROPERTY("Interfaces", "as", get_no_audio_interfaces, 0, SD_BUS_VTABLE_PROPERTY_CONST),
    SD_BUS_VTABLE_END,
};

// Silence in format: the middle of the range for unsigned samples, zero bytes otherwise.
void fill_silence(std::span<uint8_t> bytes, const PcmFormat &format) {
    if (format.kind != SampleKind::Unsigned) {
        std::fill(bytes.begin(), bytes.end(), 0);
        return;
    }
    const size_t sample = format.bits / 8;
    // The most significant byte is 0x80, the others 0.
    const size_t high = format.big_endian ? 0 : sample - 1;
    for (size_t i = 0; i < bytes.size(); ++i)
        bytes[i] = i % sample == high ? 0x80 : 0;
}

} // namespace

AudioInListener::AudioInListener(GDBusConnection *bus, const std::string &bus_name,
                                 std::shared_ptr<Microphone> microphone, std::string log_name)
    : microphone_(std::move(microphone)), log_name_(log_name),
      registration_(
          bus, bus_name, AudioDirection::In,
          {kInListenerPath, "org.qemu.Display1.AudioInListener", kInListenerVtable,
           static_cast<AudioVoiceMethods *>(this)},
          [this] { connection_closed(); }, std::move(log_name)) {}

AudioInListener::~AudioInListener() {
    microphone_->set_format(std::nullopt);
}

AudioInListener::Stream *AudioInListener::find(uint64_t id) {
    auto found = std::find_if(streams_.begin(), streams_.end(),
                              [id](const Stream &stream) { return stream.id == id; });
    return found == streams_.end() ? nullptr : &*found;
}

void AudioInListener::reject(ListenerCall &call, const char *method, const std::string &reason) {
    g_warning("%s: refused microphone %s from QEMU: %s", log_name_.c_str(), method, reason.c_str());
    call.reject(reason);
}

void AudioInListener::hear_oldest() {
    microphone_->set_format(streams_.empty() ? std::nullopt
                                             : std::optional(streams_.front().format));
}

void AudioInListener::init(ListenerCall call, uint64_t id, const AudioInit &init) {
    std::string error;
    const std::optional<PcmFormat> format = pcm_format(init, error);
    if (!format) {
        reject(call, "Init", "unsupported audio format: " + error);
        return;
    }
    if (Stream *known = find(id)) {
        known->format = *format; // QEMU set the voice up again
    } else {
        g_info("%s: microphone stream %llu: %s", log_name_.c_str(),
               static_cast<unsigned long long>(id), describe(*format).c_str());
        streams_.push_back({id, *format});
    }
    hear_oldest();
}

void AudioInListener::fini(ListenerCall call, uint64_t id) {
    if (!find(id)) {
        reject(call, "Fini", "unknown audio stream " + std::to_string(id));
        return;
    }
    std::erase_if(streams_, [id](const Stream &stream) { return stream.id == id; });
    hear_oldest();
}

void AudioInListener::set_enabled(ListenerCall call, uint64_t id, bool enabled) {
    if (!find(id)) {
        reject(call, "SetEnabled", "unknown audio stream " + std::to_string(id));
        return;
    }
    // QEMU reads only while enabled.
    g_debug("%s: microphone stream %llu %s", log_name_.c_str(), static_cast<unsigned long long>(id),
            enabled ? "enabled" : "disabled");
}

void AudioInListener::set_volume(ListenerCall call, uint64_t id, bool,
                                 std::span<const uint8_t> volume) {
    if (!find(id)) {
        reject(call, "SetVolume", "unknown audio stream " + std::to_string(id));
        return;
    }
    // The guest's recording volume is the guest's own business (QEMU applies none for a
    // listener either way); only the arguments are checked.
    if (volume.empty())
        reject(call, "SetVolume", "no volumes");
}

void AudioInListener::read(ListenerCall call, uint64_t id, uint64_t size) {
    const Stream *stream = find(id);
    if (!stream) {
        reject(call, "Read", "unknown audio stream " + std::to_string(id));
        return;
    }
    const uint32_t frame_bytes = stream->format.bytes_per_frame();
    if (size % frame_bytes != 0) {
        reject(call, "Read",
               std::to_string(size) + " bytes, not whole frames of " + std::to_string(frame_bytes) +
                   " bytes");
        return;
    }
    if (size > kMaxReadSeconds * stream->format.rate * frame_bytes) {
        reject(call, "Read", std::to_string(size) + " bytes, over a second of sound");
        return;
    }
    answer_.resize(size);
    // Only the oldest stream hears the microphone (its format is the one the sound is in).
    const size_t heard = &*stream == &streams_.front() ? microphone_->read(answer_) : 0;
    fill_silence(std::span(answer_).subspan(heard), stream->format);
    call.succeed_with_bytes(answer_);
}

void AudioInListener::connection_closed() {
    g_info("%s: QEMU closed the microphone connection", log_name_.c_str());
    streams_.clear();
    hear_oldest();
}

} // namespace vmcast::qemu
