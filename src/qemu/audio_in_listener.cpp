#include "qemu/audio_in_listener.h"

#include <systemd/sd-bus.h>

#include <algorithm>
#include <utility>

namespace vmcast::qemu {
namespace {

constexpr const char *kInListenerPath = "/org/qemu/Display1/AudioInListener";

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
    : microphone_(std::move(microphone)), voices_(log_name, "microphone"),
      registration_(
          bus, bus_name, AudioDirection::In,
          {kInListenerPath, "org.qemu.Display1.AudioInListener", kInListenerVtable,
           static_cast<AudioVoiceMethods *>(this)},
          [this] { connection_closed(); }, std::move(log_name)) {}

AudioInListener::~AudioInListener() {
    microphone_->set_format(std::nullopt);
}

void AudioInListener::hear_oldest() {
    // QEMU sets a voice up once (Init) and enables it for each recording: sound the page sent
    // in between must not reach the guest late.
    const AudioVoices::Voice *oldest = voices_.oldest();
    microphone_->set_format(oldest && oldest->enabled ? std::optional(oldest->format)
                                                      : std::nullopt);
}

void AudioInListener::init(ListenerCall call, uint64_t id, const AudioInit &init) {
    if (voices_.init(call, id, init))
        hear_oldest();
}

void AudioInListener::fini(ListenerCall call, uint64_t id) {
    if (voices_.remove(call, id))
        hear_oldest();
}

void AudioInListener::set_enabled(ListenerCall call, uint64_t id, bool enabled) {
    if (voices_.enable(call, id, enabled))
        hear_oldest();
}

void AudioInListener::set_volume(ListenerCall call, uint64_t id, bool,
                                 std::span<const uint8_t> volume) {
    // The guest's recording volume is the guest's business (QEMU leaves it to the listener,
    // and a microphone's level is the viewer's): only the arguments are checked.
    if (voices_.known(call, "SetVolume", id) && volume.empty())
        voices_.reject(call, "SetVolume", "no volumes");
}

void AudioInListener::read(ListenerCall call, uint64_t id, uint64_t size) {
    const AudioVoices::Voice *voice = voices_.known(call, "Read", id);
    if (!voice || !voices_.whole_frames(call, "Read", *voice, size))
        return;
    answer_.resize(size);
    // Only the oldest voice hears the microphone (its format is the one the sound is in).
    const size_t heard = voice == voices_.oldest() ? microphone_->read(answer_) : 0;
    fill_silence(std::span(answer_).subspan(heard), voice->format);
    call.succeed_with_bytes(answer_);
}

void AudioInListener::connection_closed() {
    g_info("%s: QEMU closed the microphone connection", voices_.log_name().c_str());
    voices_.clear();
    hear_oldest();
}

} // namespace vmcast::qemu
