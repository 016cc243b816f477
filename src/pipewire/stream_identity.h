// Who a console's PipeWire nodes stand for: the names and properties that say which VM and
// console a node shows, shared by its screen node and its camera node.
#pragma once

#include <cstdint>
#include <string>

namespace vmcast::pipewire {

struct StreamIdentity {
    std::string node_name;   // vmcast.<vm>.<console index>
    std::string description; // what a person reads in a source picker
    std::string vm_name;
    std::string vm_uuid;
    uint32_t console_index = 0;
};

// The camera node's name next to the screen node's: vmcast.<vm>.<console index>.camera.
inline std::string camera_node_name(const StreamIdentity &screen) {
    return screen.node_name + ".camera";
}

} // namespace vmcast::pipewire
