#include "pipewire/pipewire_context.h"

#include <cerrno>
#include <cstring>

#include <pipewire/pipewire.h>

#include "common/fd_source.h"

namespace vmcast::pipewire {

std::unique_ptr<PipeWireContext> PipeWireContext::connect(GMainContext *context,
                                                          std::string &error) {
    pw_init(nullptr, nullptr);
    std::unique_ptr<PipeWireContext> pipewire(new PipeWireContext());
    pipewire->loop_ = pw_loop_new(nullptr);
    if (!pipewire->loop_) {
        error = "cannot create a PipeWire loop";
        return nullptr;
    }
    pw_loop_enter(pipewire->loop_);
    pipewire->context_ = pw_context_new(pipewire->loop_, nullptr, 0);
    if (!pipewire->context_) {
        error = "cannot create a PipeWire context";
        return nullptr;
    }
    pipewire->core_ = pw_context_connect(pipewire->context_, nullptr, 0);
    if (!pipewire->core_) {
        error = std::string("cannot connect to PipeWire (is the pipewire daemon running for "
                            "this user, with XDG_RUNTIME_DIR set?): ") +
                strerror(errno);
        return nullptr;
    }
    pipewire->links_ = std::make_unique<LinkWatch>(pipewire->core_);
    pipewire->param_caches_ = std::make_unique<ParamCacheWarmer>(pipewire->core_);
    pw_loop *loop = pipewire->loop_;
    pipewire->loop_source_ =
        attach_fd_source(context, pw_loop_get_fd(loop), "pipewire",
                         {.before_poll = nullptr, .on_readable = [loop] {
                              if (pw_loop_iterate(loop, 0) < 0 && errno != EINTR)
                                  g_warning("PipeWire loop iteration failed: %s", strerror(errno));
                          }});
    return pipewire;
}

PipeWireContext::~PipeWireContext() {
    loop_source_.reset();
    param_caches_.reset();
    links_.reset();
    if (core_)
        pw_core_disconnect(core_);
    if (context_)
        pw_context_destroy(context_);
    if (loop_) {
        pw_loop_leave(loop_);
        pw_loop_destroy(loop_);
    }
    pw_deinit();
}

} // namespace vmcast::pipewire
