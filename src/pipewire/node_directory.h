// Which PipeWire nodes exist, by node.name: what `vmcast list` shows next to each console.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "pipewire/pipewire_context.h"

namespace vmcast::pipewire {

// node.name -> node id of every node the daemon announces right now, read from the registry
// (the GLib main context runs until the daemon has answered, 2 s at most).
std::map<std::string, uint32_t> list_nodes(PipeWireContext &pipewire);

} // namespace vmcast::pipewire
