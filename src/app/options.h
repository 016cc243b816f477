// vmcast's command line.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "frame/letterbox.h"
#include "pipewire/cursor_meta.h"

namespace vmcast::app {

enum class Command { List, Screenshot, Run, Config };

struct Options {
    Command command = Command::Run;
    std::string address;    // D-Bus address; empty means the session bus
    std::string qmp_socket; // --qmp: QEMU's QMP socket, for a p2p connection instead of a bus
    // --vm, repeatable: the VMs to use (run follows only these; list shows only these;
    // screenshot takes one). Empty: every VM (run), the only one (screenshot).
    std::vector<std::string> vm_names;
    uint32_t console = 0;                                          // --console (screenshot)
    std::string output_png;                                        // screenshot FILE.png
    uint32_t max_fps = 60;                                         // --max-fps
    pipewire::CursorMode cursor_mode = pipewire::CursorMode::Auto; // --cursor
    bool camera = false;      // --camera: a camera node next to each screen node
    uint32_t camera_fps = 30; // --camera-fps: the camera nodes' fixed rate
    // --camera-size: the camera nodes' size always; none: each console's, kept while linked.
    std::optional<frame::Size> camera_size;
    // --web [ADDR]: serve the page; empty when not asked for.
    std::string web_listen;
    std::string web_token_file;       // --web-token-file
    std::string web_codec;            // --web-codec: h264 or vp8; empty picks
    uint32_t web_bitrate_kbps = 6000; // --web-bitrate
    bool web_microphone = false;      // --web-microphone: full-access viewers' microphones
    bool verbose = false;
    std::string config_file; // --config FILE: settings below the command line's
    std::string libvirt_uri; // --libvirt [URI], or [libvirt] uri: follow libvirt's domains
    // --wayland [NAME|PATH], or [wayland] socket: serve Wayland clients there; empty: none.
    std::string wayland_socket;
    // The arguments as given, read again over the config file on a reload (SIGHUP), so the
    // command line still wins.
    std::vector<std::string> command_line;
};

// Parses argv and the config file it names. Returns false after printing help or version
// (exit_code 0) or a usage error (exit_code 2); true when a command should run.
bool parse_options(int argc, char **argv, Options &options, int &exit_code);
// The same again from options.command_line, with the config file as it is now (a reload): false
// and the one-line error when either is wrong.
bool reread_options(const Options &running, Options &fresh, std::string &error);

} // namespace vmcast::app
