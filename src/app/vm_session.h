// Everything vmcast runs for one VM: a ConsoleSession for each graphic console, from the moment
// the VM is found until it goes away.
#pragma once

#include <functional>
#include <list>
#include <memory>

#include "app/audio_session.h"
#include "app/console_session.h"
#include "app/options.h"
#include "web/web_publisher.h"

namespace vmcast::app {

class VmSession {
  public:
    // on_console_closed: a console lost its display connection (QEMU went away, or dropped
    // vmcast); called with the console's index.
    VmSession(compositor::Compositor &compositor, pipewire::PipeWireContext &pipewire,
              GDBusConnection *bus, qemu::VmInfo vm, const Options &options,
              std::function<void(uint32_t console)> on_console_closed);
    VmSession(const VmSession &) = delete;
    VmSession &operator=(const VmSession &) = delete;

    const qemu::VmInfo &vm() const { return vm_; }
    GDBusConnection *bus() const { return bus_; }
    bool has_graphic_console() const { return !consoles_.empty(); }
    // What the web page needs to show the VM; valid while this session lives.
    web::WebVm web_vm();

  private:
    GDBusConnection *bus_;
    qemu::VmInfo vm_;
    std::list<ConsoleSession> consoles_;
    std::unique_ptr<AudioSession> audio_; // when QEMU publishes the VM's sound
};

} // namespace vmcast::app
