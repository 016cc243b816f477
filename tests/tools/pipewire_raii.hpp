// unique_ptr ownership for the PipeWire objects used by the test tools.
#pragma once

#include <memory>

#include <pipewire/pipewire.h>

namespace vmcast_tools {

struct MainLoopDeleter {
    void operator()(pw_main_loop *loop) const { pw_main_loop_destroy(loop); }
};
struct ContextDeleter {
    void operator()(pw_context *context) const { pw_context_destroy(context); }
};
struct CoreDeleter {
    void operator()(pw_core *core) const { pw_core_disconnect(core); }
};
struct StreamDeleter {
    void operator()(pw_stream *stream) const { pw_stream_destroy(stream); }
};
struct RegistryDeleter {
    void operator()(pw_registry *registry) const {
        pw_proxy_destroy(reinterpret_cast<pw_proxy *>(registry));
    }
};
using MainLoopPtr = std::unique_ptr<pw_main_loop, MainLoopDeleter>;
using ContextPtr = std::unique_ptr<pw_context, ContextDeleter>;
using CorePtr = std::unique_ptr<pw_core, CoreDeleter>;
using StreamPtr = std::unique_ptr<pw_stream, StreamDeleter>;
using RegistryPtr = std::unique_ptr<pw_registry, RegistryDeleter>;

// pw_init/pw_deinit pairing for main().
struct PipeWireLibrary {
    PipeWireLibrary(int *argc, char ***argv) { pw_init(argc, argv); }
    ~PipeWireLibrary() { pw_deinit(); }
    PipeWireLibrary(const PipeWireLibrary &) = delete;
    PipeWireLibrary &operator=(const PipeWireLibrary &) = delete;
};

} // namespace vmcast_tools
