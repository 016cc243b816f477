#include "app/fleet.h"

#include <algorithm>
#include <cstdio>

namespace vmcast::app {

Fleet::Fleet(const Options &options, compositor::Compositor &compositor,
             pipewire::PipeWireContext &pipewire)
    : options_(options), compositor_(compositor), pipewire_(pipewire) {}

bool Fleet::add(const qemu::VmInfo &vm, GDBusConnection *connection, std::string &why) {
    const auto &wanted = options_.vm_names;
    if (!wanted.empty() && std::find(wanted.begin(), wanted.end(), vm.name) == wanted.end()) {
        why = "VM '" + vm.name + "' is not one of --vm";
        return false;
    }
    if (vms_.contains(vm.name)) {
        why =
            "a second VM named '" + vm.name + "' is there; it is streamed when the first one stops";
        waiting_.push_back({vm, connection});
        return false;
    }
    auto session = std::make_unique<VmSession>(
        compositor_, pipewire_, connection, vm, options_, [name = vm.name](uint32_t index) {
            // The VM's going is seen by its connection or its name on the bus, and dealt with
            // there; this only says which console noticed first.
            g_info("console %u of VM '%s' lost its display connection", index, name.c_str());
        });
    if (!session->has_graphic_console()) {
        why = "VM '" + vm.name + "' has no graphic console";
        return false;
    }
    VmSession &added = *session;
    vms_[vm.name] = std::move(session);
    if (web_) {
        web_->add_vm(added.web_vm());
        // On stdout, for people and scripts: the addresses to open (the same each time).
        printf("vmcast: watch VM '%s' at %s\n", vm.name.c_str(),
               web_->url(web::Access::Full, vm.name).c_str());
        printf("vmcast: view only: %s\n", web_->url(web::Access::View, vm.name).c_str());
        fflush(stdout);
    }
    g_message("streaming VM '%s'", vm.name.c_str());
    return true;
}

void Fleet::remove(GDBusConnection *connection, const std::string &bus_name) {
    std::erase_if(waiting_, [&](const Waiting &waiting) {
        return waiting.connection == connection && waiting.vm.bus_name == bus_name;
    });
    remove(std::find_if(vms_.begin(), vms_.end(), [&](const auto &entry) {
        return entry.second->bus() == connection && entry.second->vm().bus_name == bus_name;
    }));
}

void Fleet::remove_all(GDBusConnection *connection) {
    std::erase_if(waiting_,
                  [&](const Waiting &waiting) { return waiting.connection == connection; });
    for (auto found = vms_.begin(); found != vms_.end();) {
        auto next = std::next(found);
        if (found->second->bus() == connection)
            remove(found);
        found = next;
    }
}

void Fleet::remove(VmMap::iterator found) {
    if (found == vms_.end())
        return;
    const std::string name = found->first;
    g_message("VM '%s' stopped; its nodes are gone until it is back", name.c_str());
    if (web_)
        web_->remove_vm(name, "the VM '" + name + "' stopped");
    vms_.erase(found);
    start_waiting(name);
}

void Fleet::start_waiting(const std::string &name) {
    auto next = std::find_if(waiting_.begin(), waiting_.end(),
                             [&](const Waiting &waiting) { return waiting.vm.name == name; });
    if (next == waiting_.end())
        return;
    const Waiting taking_over = *next;
    waiting_.erase(next);
    std::string why;
    if (!add(taking_over.vm, taking_over.connection, why))
        g_message("%s", why.c_str());
}

} // namespace vmcast::app
