#include "qemu/audio_registration.h"

#include "qemu-display1.h"
#include "qemu/call_timeout.h"

namespace vmcast::qemu {
namespace {

constexpr const char *kAudioPath = "/org/qemu/Display1/Audio";

bool is_cancelled(const GError *error) {
    return error && g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
}

} // namespace

AudioRegistration::AudioRegistration(GDBusConnection *bus, std::string bus_name,
                                     AudioDirection direction, ServedInterface served,
                                     std::function<void()> closed, std::string log_name)
    : bus_(bus), bus_name_(std::move(bus_name)), direction_(direction), served_(served),
      closed_(std::move(closed)), log_name_(std::move(log_name)) {}

AudioRegistration::~AudioRegistration() {
    // First, so that no call of QEMU's reaches a listener half gone.
    connection_.reset();
    g_cancellable_cancel(cancellable_.get());
}

const char *AudioRegistration::what() const {
    return direction_ == AudioDirection::Out ? "audio listener" : "microphone listener";
}

void AudioRegistration::start() {
    const char *name = bus_name_.empty() ? nullptr : bus_name_.c_str();
    // Asynchronous, as for the consoles: QEMU may be waiting on another listener's handshake.
    qemu_display_audio_proxy_new(bus_, G_DBUS_PROXY_FLAGS_DO_NOT_AUTO_START, name, kAudioPath,
                                 cancellable_.get(), on_audio_ready, this);
}

void AudioRegistration::on_audio_ready(GObject *, GAsyncResult *result, gpointer self) {
    GError *raw_error = nullptr;
    QemuDisplayAudio *audio = qemu_display_audio_proxy_new_finish(result, &raw_error);
    GErrorPtr error(raw_error);
    if (is_cancelled(error.get()))
        return;
    auto *registration = static_cast<AudioRegistration *>(self);
    if (!audio) {
        g_warning("%s: cannot reach the VM's audio: %s", registration->log_name_.c_str(),
                  error->message);
        return;
    }
    registration->audio_.reset(audio);
    g_dbus_proxy_set_default_timeout(G_DBUS_PROXY(audio), kQemuCallTimeoutMs);
    std::string register_error;
    if (!registration->register_listener(register_error))
        g_warning("%s: %s", registration->log_name_.c_str(), register_error.c_str());
}

bool AudioRegistration::register_listener(std::string &error) {
    // QEMU answers, then authenticates and reads our properties synchronously in its main
    // loop: the object is in place and the handshake runs on our main loop meanwhile.
    GObjectPtr<GUnixFDList> fds;
    connection_ = ListenerBus::serve_new_pair({&served_, 1}, closed_, fds, error);
    if (!connection_) {
        error = std::string("cannot serve the ") + what() + ": " + error;
        return false;
    }
    if (direction_ == AudioDirection::Out)
        qemu_display_audio_call_register_out_listener(audio_.get(), g_variant_new_handle(0),
                                                      fds.get(), cancellable_.get(), on_registered,
                                                      this);
    else
        qemu_display_audio_call_register_in_listener(audio_.get(), g_variant_new_handle(0),
                                                     fds.get(), cancellable_.get(), on_registered,
                                                     this);
    return true;
}

void AudioRegistration::on_registered(GObject *source, GAsyncResult *result, gpointer self) {
    GError *raw_error = nullptr;
    // Both calls return nothing; self may be gone when cancelled, so it is not asked which.
    GVariantPtr reply(g_dbus_proxy_call_with_unix_fd_list_finish(G_DBUS_PROXY(source), nullptr,
                                                                 result, &raw_error));
    GErrorPtr error(raw_error);
    if (is_cancelled(error.get()))
        return;
    auto *registration = static_cast<AudioRegistration *>(self);
    if (error) {
        g_warning("%s: QEMU refused the %s: %s", registration->log_name_.c_str(),
                  registration->what(), error->message);
        registration->connection_.reset();
        return;
    }
    g_info("%s: %s registered", registration->log_name_.c_str(), registration->what());
}

} // namespace vmcast::qemu
