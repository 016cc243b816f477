// vmcast's audio output listener for one VM (-audiodev dbus): registers with
// org.qemu.Display1.Audio over a private socket pair, as the display listener does, serves
// org.qemu.Display1.AudioOutListener there, validates every call, and hands the sound of one
// stream at a time to an AudioSink.
#pragma once

#include <cstdint>
#include <span>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <gio/gio.h>

#include "common/glib_ptr.h"
#include "common/pcm_format.h"
#include "qemu/audio_format.h"
#include "qemu/audio_sink.h"
#include "qemu/listener_bus.h"

typedef struct _QemuDisplayAudio QemuDisplayAudio;

namespace vmcast::qemu {

class AudioListener {
  public:
    // bus_name is QEMU's name on the bus, or empty on a peer-to-peer connection.
    AudioListener(GDBusConnection *bus, const std::string &bus_name, AudioSink &sink,
                  std::string log_name);
    AudioListener(const AudioListener &) = delete;
    AudioListener &operator=(const AudioListener &) = delete;
    ~AudioListener();

    // Registers, asynchronously: a failure is one warning, and the VM stays silent.
    void start();

    // AudioOutListener's methods, called by the connection's vtable.
    void init(ListenerCall call, uint64_t id, const AudioInit &init);
    void fini(ListenerCall call, uint64_t id);
    void set_enabled(ListenerCall call, uint64_t id, bool enabled);
    void set_volume(ListenerCall call, uint64_t id, bool mute, std::span<const uint8_t> volume);
    void write(ListenerCall call, uint64_t id, std::span<const uint8_t> data);

  private:
    static void on_audio_ready(GObject *source, GAsyncResult *result, gpointer self);
    static void on_registered(GObject *source, GAsyncResult *result, gpointer self);
    bool register_listener(std::string &error);
    void reject(ListenerCall &call, const char *method, const std::string &reason);
    void connection_closed();
    // The stream the sink hears: the oldest one QEMU has not finished.
    void play_next();

    GDBusConnection *bus_;
    std::string bus_name_;
    AudioSink &sink_;
    std::string log_name_;
    // QEMU's playback streams (one per sound device voice), oldest first.
    struct Stream {
        uint64_t id;
        PcmFormat format;
    };
    std::vector<Stream> streams_;
    Stream *find(uint64_t id);
    std::optional<uint64_t> played_;
    GObjectPtr<GCancellable> cancellable_{g_cancellable_new()};
    GObjectPtr<QemuDisplayAudio> audio_;
    // Last: it goes first, so no call of QEMU's reaches a listener half gone.
    std::unique_ptr<ListenerBus> connection_;
};

} // namespace vmcast::qemu
