// The VMs being streamed, by name: a name is one VM's nodes and page address, whichever QEMU
// process runs it and whichever connection reaches it.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "app/options.h"
#include "app/vm_session.h"
#include "web/web_publisher.h"

namespace vmcast::app {

class Fleet {
  public:
    Fleet(const Options &options, compositor::Compositor &compositor,
          pipewire::PipeWireContext &pipewire);
    Fleet(const Fleet &) = delete;
    Fleet &operator=(const Fleet &) = delete;

    void set_web(std::unique_ptr<web::WebPublisher> web) { web_ = std::move(web); }
    web::WebPublisher *web() { return web_.get(); }

    // Streams the VM reached on connection (which outlives its place here). false with a
    // reason when it is not streamed: not one of --vm, a second VM of the same name, no graphic
    // console.
    bool add(const qemu::VmInfo &vm, GDBusConnection *connection, std::string &why);
    // The VM whose QEMU had this unique name on connection stopped (empty name: the QEMU at the
    // other end of a p2p connection): its nodes go, its pages wait for it.
    void remove(GDBusConnection *connection, const std::string &bus_name);
    // Every VM reached on connection, which closed or is let go.
    void remove_all(GDBusConnection *connection);

  private:
    using VmMap = std::map<std::string, std::unique_ptr<VmSession>>;
    // A VM left out because another of its name is streamed: it takes that one's place when
    // that one stops.
    struct Waiting {
        qemu::VmInfo vm;
        GDBusConnection *connection;
    };
    void remove(VmMap::iterator found);
    void start_waiting(const std::string &name);

    const Options &options_;
    compositor::Compositor &compositor_;
    pipewire::PipeWireContext &pipewire_;
    VmMap vms_;
    std::vector<Waiting> waiting_;
    // Declared after the VMs, so destroyed before them: its pages hold the consoles' input.
    std::unique_ptr<web::WebPublisher> web_;
};

} // namespace vmcast::app
