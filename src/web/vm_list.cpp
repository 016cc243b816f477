#include "web/vm_list.h"

#include <json-glib/json-glib.h>

#include <algorithm>

#include "common/glib_ptr.h"
#include "web/messages.h"

namespace vmcast::web {

void StoppedVms::add(const std::string &name, std::vector<ListedConsole> consoles) {
    vms_[name] = Stopped{std::move(consoles), ++stops_};
    if (vms_.size() <= kMaxStoppedVms)
        return;
    const auto oldest = std::min_element(
        vms_.begin(), vms_.end(), [](auto &a, auto &b) { return a.second.order < b.second.order; });
    vms_.erase(oldest);
}

void StoppedVms::list_into(std::vector<ListedVm> &vms) const {
    for (const auto &[name, stopped] : vms_)
        vms.push_back(ListedVm{name, false, stopped.consoles});
}

std::string vm_list_json(std::vector<ListedVm> vms) {
    std::sort(vms.begin(), vms.end(),
              [](const ListedVm &a, const ListedVm &b) { return a.name < b.name; });
    GObjectPtr<JsonBuilder> builder(json_builder_new());
    JsonBuilder *b = builder.get();
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "vms");
    json_builder_begin_array(b);
    for (const ListedVm &vm : vms) {
        json_builder_begin_object(b);
        json_builder_set_member_name(b, "name");
        json_builder_add_string_value(b, vm.name.c_str());
        json_builder_set_member_name(b, "state");
        json_builder_add_string_value(b, vm.running ? "running" : "stopped");
        json_builder_set_member_name(b, "consoles");
        json_builder_begin_array(b);
        for (const ListedConsole &console : vm.consoles) {
            json_builder_begin_object(b);
            json_builder_set_member_name(b, "index");
            json_builder_add_int_value(b, console.index);
            json_builder_set_member_name(b, "label");
            json_builder_add_string_value(b, console.label.c_str());
            json_builder_end_object(b);
        }
        json_builder_end_array(b);
        json_builder_end_object(b);
    }
    json_builder_end_array(b);
    json_builder_end_object(b);
    return json_text(b);
}

} // namespace vmcast::web
