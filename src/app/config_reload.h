// SIGHUP on `vmcast run`: the command line and the config file are read again (the command line
// still wins) and what can change while vmcast runs changes: the VMs to stream, the page's
// tokens and bitrate. What cannot (the bus, libvirt's URI, the page's address and codec, the
// streams' rate and pointer) keeps its running value, with one warning that a restart applies
// it. A config file that does not read keeps every running setting, with its one-line error.
#pragma once

#include <functional>

#include <glib.h>

#include "app/options.h"
#include "web/web_publisher.h"

namespace vmcast::app {

class ConfigReload {
  public:
    struct Targets {
        // running.vm_names changed: drop the VMs no longer wanted and take the new ones.
        std::function<void()> vms_changed;
        // The page, when vmcast serves one.
        web::WebPublisher *web = nullptr;
        // The page's tokens changed: print the VMs' addresses again.
        std::function<void()> tokens_changed;
    };

    // Reloads on SIGHUP from now on, changing running (which must outlive this).
    ConfigReload(Options &running, Targets targets);
    ConfigReload(const ConfigReload &) = delete;
    ConfigReload &operator=(const ConfigReload &) = delete;
    ~ConfigReload();

  private:
    static gboolean on_hangup(gpointer self);
    void reload();

    Options &running_;
    Targets targets_;
    guint source_ = 0;
};

} // namespace vmcast::app
