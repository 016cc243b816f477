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
    // options is the running configuration (a reload changes it; it outlives the fleet).
    Fleet(const Options &options, compositor::Compositor &compositor,
          pipewire::PipeWireContext &pipewire);
    Fleet(const Fleet &) = delete;
    Fleet &operator=(const Fleet &) = delete;

    void set_web(std::unique_ptr<web::WebPublisher> web) { web_ = std::move(web); }
    web::WebPublisher *web() { return web_.get(); }

    // Streams the VM reached on connection (which outlives its place here). false with a
    // reason when it is not streamed: not wanted (--vm, [vms] names), a second VM of the same
    // name, no graphic console. A VM left out for its name is kept in mind: it is taken when
    // it becomes wanted, or when the VM of its name stops.
    bool add(const qemu::VmInfo &vm, GDBusConnection *connection, std::string &why);
    // The VM whose QEMU had this unique name on connection stopped (empty name: the QEMU at the
    // other end of a p2p connection): its nodes go, its pages wait for it.
    void remove(GDBusConnection *connection, const std::string &bus_name);
    // Every VM reached on connection, which closed or is let go.
    void remove_all(GDBusConnection *connection);

    // The wanted VMs changed (a reload): those no longer wanted go as if they stopped, and the
    // VMs left out that are now wanted are streamed.
    void wanted_changed();
    // On stdout, like each VM's addresses: the page that lists them all.
    void announce_list();
    // The page's tokens changed (a reload): prints the list's and every VM's addresses again.
    void announce_all();

  private:
    using VmMap = std::map<std::string, std::unique_ptr<VmSession>>;
    // A VM on one of vmcast's connections that is not streamed, for its name.
    struct LeftOut {
        qemu::VmInfo vm;
        GDBusConnection *connection;
    };
    bool wanted(const std::string &name) const;
    void remove(VmMap::iterator found, const std::string &reason);
    void take_left_out(const std::string &name);
    // On stdout, for people and scripts: the addresses to open (the same each time).
    void announce(const std::string &name);

    const Options &options_;
    compositor::Compositor &compositor_;
    pipewire::PipeWireContext &pipewire_;
    VmMap vms_;
    std::vector<LeftOut> left_out_;
    // Declared after the VMs, so destroyed before them: its pages hold the consoles' input.
    std::unique_ptr<web::WebPublisher> web_;
};

} // namespace vmcast::app
