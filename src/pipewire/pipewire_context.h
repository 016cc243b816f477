// vmcast's connection to the PipeWire daemon. PipeWire's main loop runs inside the GLib main
// loop as a GSource, so stream callbacks run on vmcast's one thread.
#pragma once

#include <memory>
#include <string>

#include <glib.h>

#include "common/glib_ptr.h"
#include "pipewire/link_watch.h"
#include "pipewire/param_cache_warmer.h"

struct pw_loop;
struct pw_context;
struct pw_core;

namespace vmcast::pipewire {

class PipeWireContext {
  public:
    // nullptr and a one-line reason in error when the daemon cannot be reached.
    static std::unique_ptr<PipeWireContext> connect(GMainContext *context, std::string &error);
    PipeWireContext(const PipeWireContext &) = delete;
    PipeWireContext &operator=(const PipeWireContext &) = delete;
    // Every stream made on this core must be gone first.
    ~PipeWireContext();

    pw_core *core() const { return core_; }
    LinkWatch &links() { return *links_; }
    ParamCacheWarmer &param_caches() { return *param_caches_; }

  private:
    PipeWireContext() = default;

    pw_loop *loop_ = nullptr;
    pw_context *context_ = nullptr;
    pw_core *core_ = nullptr;
    std::unique_ptr<LinkWatch> links_;
    std::unique_ptr<ParamCacheWarmer> param_caches_;
    GSourcePtr loop_source_;
};

} // namespace vmcast::pipewire
