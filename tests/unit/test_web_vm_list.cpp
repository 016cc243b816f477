// The page's list of VMs: the stopped VMs it keeps, and the JSON the list page reads.
#include <gtest/gtest.h>

#include <json-glib/json-glib.h>

#include <algorithm>

#include "common/glib_ptr.h"
#include "web/vm_list.h"

namespace vmcast::web {
namespace {

std::vector<std::string> names(const StoppedVms &stopped) {
    std::vector<ListedVm> vms;
    stopped.list_into(vms);
    std::vector<std::string> result;
    for (const ListedVm &vm : vms) {
        EXPECT_FALSE(vm.running);
        result.push_back(vm.name);
    }
    return result;
}

TEST(StoppedVms, KeepsStoppedVmsUntilTheyAreBack) {
    StoppedVms stopped;
    stopped.add("b", {{0, "VGA"}});
    stopped.add("a", {{0, "VGA"}, {1, "vga1"}});
    EXPECT_EQ(names(stopped), (std::vector<std::string>{"a", "b"}));
    stopped.remove("a");
    EXPECT_EQ(names(stopped), (std::vector<std::string>{"b"}));
    stopped.remove("never stopped");
    EXPECT_EQ(names(stopped), (std::vector<std::string>{"b"}));
}

TEST(StoppedVms, ForgetsTheOneThatStoppedLongestAgoPastTheLimit) {
    StoppedVms stopped;
    for (size_t i = 0; i < StoppedVms::kMaxStoppedVms; ++i)
        stopped.add("vm" + std::to_string(i), {});
    stopped.add("vm0", {}); // stopped again: now the newest
    stopped.add("new", {});
    const std::vector<std::string> kept = names(stopped);
    EXPECT_EQ(kept.size(), StoppedVms::kMaxStoppedVms);
    EXPECT_NE(std::find(kept.begin(), kept.end(), "vm0"), kept.end());
    EXPECT_NE(std::find(kept.begin(), kept.end(), "new"), kept.end());
    EXPECT_EQ(std::find(kept.begin(), kept.end(), "vm1"), kept.end());
}

TEST(VmListJson, SortedByNameWithStatesAndConsoles) {
    const std::string json = vm_list_json({
        {"zeta", false, {{0, "VGA"}}},
        {"<b>\"a\"</b>", true, {{0, "VGA"}, {1, "vga1"}}},
    });
    GObjectPtr<JsonParser> parser(json_parser_new());
    ASSERT_TRUE(json_parser_load_from_data(parser.get(), json.c_str(), -1, nullptr)) << json;
    JsonArray *vms = json_object_get_array_member(
        json_node_get_object(json_parser_get_root(parser.get())), "vms");
    ASSERT_EQ(json_array_get_length(vms), 2u);
    JsonObject *first = json_array_get_object_element(vms, 0);
    EXPECT_STREQ(json_object_get_string_member(first, "name"), "<b>\"a\"</b>");
    EXPECT_STREQ(json_object_get_string_member(first, "state"), "running");
    JsonArray *consoles = json_object_get_array_member(first, "consoles");
    ASSERT_EQ(json_array_get_length(consoles), 2u);
    JsonObject *second = json_array_get_object_element(consoles, 1);
    EXPECT_EQ(json_object_get_int_member(second, "index"), 1);
    EXPECT_STREQ(json_object_get_string_member(second, "label"), "vga1");
    JsonObject *last = json_array_get_object_element(vms, 1);
    EXPECT_STREQ(json_object_get_string_member(last, "name"), "zeta");
    EXPECT_STREQ(json_object_get_string_member(last, "state"), "stopped");
}

TEST(VmListJson, NoVmIsAnEmptyList) {
    EXPECT_EQ(vm_list_json({}), "{\"vms\":[]}");
}

} // namespace
} // namespace vmcast::web
