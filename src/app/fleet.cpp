#include "app/fleet.h"

#include <algorithm>
#include <cstdio>

namespace vmcast::app {

Fleet::Fleet(const Options &options, compositor::Compositor &compositor,
             pipewire::PipeWireContext &pipewire)
    : options_(options), compositor_(compositor), pipewire_(pipewire) {}

bool Fleet::wanted(const std::string &name) const {
    const auto &names = options_.vm_names;
    return names.empty() || std::find(names.begin(), names.end(), name) != names.end();
}

bool Fleet::add(const qemu::VmInfo &vm, GDBusConnection *connection, std::string &why) {
    if (!wanted(vm.name) || vms_.contains(vm.name)) {
        why = !wanted(vm.name) ? "VM '" + vm.name +
                                     "' is not one of the wanted VMs (--vm, "
                                     "[vms] names)"
                               : "a second VM named '" + vm.name +
                                     "' is there; it is streamed when the first one stops";
        left_out_.push_back({vm, connection});
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
        announce(vm.name);
    }
    g_message("streaming VM '%s'", vm.name.c_str());
    return true;
}

void Fleet::announce(const std::string &name) {
    printf("vmcast: watch VM '%s' at %s\n", name.c_str(),
           web_->url(web::Access::Full, name).c_str());
    printf("vmcast: view only: %s\n", web_->url(web::Access::View, name).c_str());
    fflush(stdout);
}

void Fleet::announce_list() {
    printf("vmcast: VMs at %s\n", web_->list_url(web::Access::Full).c_str());
    printf("vmcast: VMs, view only: %s\n", web_->list_url(web::Access::View).c_str());
    fflush(stdout);
}

void Fleet::announce_all() {
    if (!web_)
        return;
    announce_list();
    for (const auto &[name, session] : vms_)
        announce(name);
}

void Fleet::remove(GDBusConnection *connection, const std::string &bus_name) {
    std::erase_if(left_out_, [&](const LeftOut &left_out) {
        return left_out.connection == connection && left_out.vm.bus_name == bus_name;
    });
    auto found = std::find_if(vms_.begin(), vms_.end(), [&](const auto &entry) {
        return entry.second->bus() == connection && entry.second->vm().bus_name == bus_name;
    });
    if (found != vms_.end())
        remove(found, "the VM '" + found->first + "' stopped");
}

void Fleet::remove_all(GDBusConnection *connection) {
    std::erase_if(left_out_,
                  [&](const LeftOut &left_out) { return left_out.connection == connection; });
    for (auto found = vms_.begin(); found != vms_.end();) {
        auto next = std::next(found);
        if (found->second->bus() == connection)
            remove(found, "the VM '" + found->first + "' stopped");
        found = next;
    }
}

void Fleet::wanted_changed() {
    for (auto found = vms_.begin(); found != vms_.end();) {
        auto next = std::next(found);
        if (!wanted(found->first)) {
            // Kept in mind, should it be wanted again.
            left_out_.push_back({found->second->vm(), found->second->bus()});
            remove(found, "vmcast no longer streams the VM '" + found->first + "'");
        }
        found = next;
    }
    std::vector<std::string> names;
    for (const LeftOut &left_out : left_out_)
        if (wanted(left_out.vm.name) && !vms_.contains(left_out.vm.name))
            names.push_back(left_out.vm.name);
    for (const std::string &name : names)
        take_left_out(name);
}

void Fleet::remove(VmMap::iterator found, const std::string &reason) {
    const std::string name = found->first;
    g_message("%s; its nodes are gone until it is back", reason.c_str());
    if (web_)
        web_->remove_vm(name, reason);
    vms_.erase(found);
    take_left_out(name);
}

void Fleet::take_left_out(const std::string &name) {
    if (!wanted(name) || vms_.contains(name))
        return;
    auto next = std::find_if(left_out_.begin(), left_out_.end(),
                             [&](const LeftOut &left_out) { return left_out.vm.name == name; });
    if (next == left_out_.end())
        return;
    const LeftOut taking_over = *next;
    left_out_.erase(next);
    std::string why;
    if (!add(taking_over.vm, taking_over.connection, why))
        g_message("%s", why.c_str());
}

} // namespace vmcast::app
