// The checks of the settings the command line and the config file share, each in one place, so
// both accept the same values and say the same about a bad one.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "frame/letterbox.h"
#include "pipewire/cursor_meta.h"

namespace vmcast::app {

// Each takes a setting's text as given; false with what was expected ("expected ...").
bool parse_bus_address(const std::string &text, std::string &address, std::string &expected);
bool parse_vm_name(const std::string &text, std::string &name, std::string &expected);
bool parse_libvirt_uri(const std::string &text, std::string &uri, std::string &expected);
bool parse_max_fps(const std::string &text, uint32_t &fps, std::string &expected);
bool parse_cursor_mode(const std::string &text, pipewire::CursorMode &mode, std::string &expected);
// true or false, GKeyFile's spelling (as config_text writes it).
bool parse_switch(const std::string &text, bool &on, std::string &expected);
bool parse_camera_fps(const std::string &text, uint32_t &fps, std::string &expected);
bool parse_camera_size(const std::string &text, std::optional<frame::Size> &size,
                       std::string &expected);
bool parse_web_listen(const std::string &text, std::string &listen, std::string &expected);
bool parse_web_codec(const std::string &text, std::string &codec, std::string &expected);
bool parse_web_bitrate(const std::string &text, uint32_t &kbps, std::string &expected);
bool parse_wayland_socket(const std::string &text, std::string &socket, std::string &expected);

// The Wayland socket's name when --wayland names none: vmcast-VM for one VM given by name,
// vmcast-0 otherwise; never wayland-0, where every client looks first.
std::string default_wayland_socket(const std::vector<std::string> &vm_names);

// The name parse_cursor_mode takes for a mode.
const char *cursor_mode_name(pipewire::CursorMode mode);

// The one line about a bad value: WHERE: EXPECTED, got "TEXT".
std::string bad_value(const std::string &where, const std::string &expected,
                      const std::string &text);

} // namespace vmcast::app
