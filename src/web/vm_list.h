// The page's list of VMs (/?token=T, its data at /vms?token=T): every VM vmcast has streamed
// since it started, running or stopped, with its consoles.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace vmcast::web {

struct ListedConsole {
    uint32_t index = 0;
    std::string label; // e.g. "VGA"
};

struct ListedVm {
    std::string name;
    bool running = false;
    std::vector<ListedConsole> consoles;
};

// The VMs that stopped, kept for the list until they are back. Past kMaxStoppedVms the one that
// stopped longest ago is forgotten: VMs under ever new names must not grow vmcast without end.
class StoppedVms {
  public:
    static constexpr size_t kMaxStoppedVms = 256;

    void add(const std::string &name, std::vector<ListedConsole> consoles);
    // The VM is back (or never stopped).
    void remove(const std::string &name) { vms_.erase(name); }
    // Appends each stopped VM to vms.
    void list_into(std::vector<ListedVm> &vms) const;

  private:
    struct Stopped {
        std::vector<ListedConsole> consoles;
        uint64_t order = 0; // when it stopped, counted in stops
    };
    std::map<std::string, Stopped> vms_; // by name
    uint64_t stops_ = 0;
};

// {"vms":[{"name":N,"state":"running"|"stopped","consoles":[{"index":I,"label":L}...]}...]},
// sorted by name.
std::string vm_list_json(std::vector<ListedVm> vms);

} // namespace vmcast::web
