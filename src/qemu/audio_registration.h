// One listener of a VM's sound (-audiodev dbus) registered with org.qemu.Display1.Audio over
// its own socket pair: the output listener (RegisterOutListener) or the input one
// (RegisterInListener). QEMU serves each on its own p2p connection.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include <gio/gio.h>

#include "common/glib_ptr.h"
#include "qemu/listener_bus.h"

typedef struct _QemuDisplayAudio QemuDisplayAudio;

namespace vmcast::qemu {

enum class AudioDirection { Out, In };

class AudioRegistration {
  public:
    // bus_name is QEMU's name on the bus, or empty on a peer-to-peer connection. served is the
    // listener object; closed is called once when QEMU closes its connection.
    AudioRegistration(GDBusConnection *bus, std::string bus_name, AudioDirection direction,
                      ServedInterface served, std::function<void()> closed, std::string log_name);
    AudioRegistration(const AudioRegistration &) = delete;
    AudioRegistration &operator=(const AudioRegistration &) = delete;
    ~AudioRegistration();

    // Registers, asynchronously: a failure is one warning, and the listener hears nothing.
    void start();

  private:
    static void on_audio_ready(GObject *source, GAsyncResult *result, gpointer self);
    static void on_registered(GObject *source, GAsyncResult *result, gpointer self);
    bool register_listener(std::string &error);
    const char *what() const;

    GDBusConnection *bus_;
    std::string bus_name_;
    AudioDirection direction_;
    ServedInterface served_;
    std::function<void()> closed_;
    std::string log_name_;
    GObjectPtr<GCancellable> cancellable_{g_cancellable_new()};
    GObjectPtr<QemuDisplayAudio> audio_;
    std::unique_ptr<ListenerBus> connection_;
};

} // namespace vmcast::qemu
