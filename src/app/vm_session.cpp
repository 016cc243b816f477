#include "app/vm_session.h"

namespace vmcast::app {

VmSession::VmSession(compositor::Compositor &compositor, pipewire::PipeWireContext &pipewire,
                     GDBusConnection *bus, qemu::VmInfo vm, const Options &options,
                     std::function<void(uint32_t console)> on_console_closed)
    : bus_(bus), vm_(std::move(vm)) {
    for (const qemu::ConsoleInfo &console : vm_.consoles) {
        if (!console.graphic())
            continue;
        ConsoleSession &session = consoles_.emplace_back(
            compositor, pipewire, bus, vm_, console, options.max_fps, options.cursor_mode,
            options.camera
                ? std::optional(pipewire::CameraSettings{options.camera_fps, options.camera_size})
                : std::nullopt,
            [on_console_closed, index = console.index] { on_console_closed(index); });
        session.start();
        g_info("streaming console %u of VM '%s' as PipeWire node %s once QEMU shows it",
               console.index, vm_.name.c_str(), session.node_name().c_str());
    }
    if (vm_.audio == qemu::AudioOut::Before81 && vm_.bus_name.empty()) {
        g_message("VM '%s' has sound, but its QEMU (before 8.1) cannot give it over a "
                  "peer-to-peer connection; use its bus instead",
                  vm_.name.c_str());
    } else if (vm_.audio != qemu::AudioOut::None && !consoles_.empty()) {
        audio_ = std::make_unique<AudioSession>(
            pipewire, bus, vm_, options.web_microphone && !options.web_listen.empty());
        audio_->start();
        g_info("streaming the sound of VM '%s' as PipeWire node %s while it plays",
               vm_.name.c_str(), audio_->node_name().c_str());
    }
}

web::WebVm VmSession::web_vm() {
    web::WebVm web_vm{vm_.name, bus_, vm_.bus_name, {}};
    auto session = consoles_.begin();
    for (const qemu::ConsoleInfo &console : vm_.consoles) {
        if (!console.graphic())
            continue;
        ConsoleSession *streamed = &*session++;
        web_vm.consoles.push_back({console.index, console.label, streamed->node_name(),
                                   [streamed] { streamed->request_frame(FrameRequest::Viewer); },
                                   &streamed->input(), audio_ ? &audio_->tap() : nullptr,
                                   audio_ ? audio_->microphone() : nullptr});
    }
    return web_vm;
}

} // namespace vmcast::app
