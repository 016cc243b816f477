#include "app/setting_values.h"

#include <sys/un.h>

#include <charconv>

#include <gio/gio.h>

#include "common/glib_ptr.h"
#include "web/web_publisher.h"

namespace vmcast::app {
namespace {

// A whole decimal number from min to max.
bool parse_number(const std::string &text, uint32_t min, uint32_t max, uint32_t &value) {
    uint32_t parsed = 0;
    const auto [end, result] = std::from_chars(text.data(), text.data() + text.size(), parsed);
    if (text.empty() || result != std::errc() || end != text.data() + text.size() || parsed < min ||
        parsed > max)
        return false;
    value = parsed;
    return true;
}

} // namespace

bool parse_bus_address(const std::string &text, std::string &address, std::string &expected) {
    if (!g_dbus_is_address(text.c_str())) {
        expected = "expected a D-Bus address such as unix:path=/run/vm/bus";
        return false;
    }
    address = text;
    return true;
}

bool parse_vm_name(const std::string &text, std::string &name, std::string &expected) {
    if (text.empty()) {
        expected = "expected a VM's name";
        return false;
    }
    name = text;
    return true;
}

bool parse_libvirt_uri(const std::string &text, std::string &uri, std::string &expected) {
    if (text.empty()) {
        expected = "expected a libvirt URI such as qemu:///system";
        return false;
    }
    uri = text;
    return true;
}

bool parse_max_fps(const std::string &text, uint32_t &fps, std::string &expected) {
    if (!parse_number(text, 1, 1000, fps)) {
        expected = "expected frames a second from 1 to 1000";
        return false;
    }
    return true;
}

bool parse_cursor_mode(const std::string &text, pipewire::CursorMode &mode, std::string &expected) {
    for (auto candidate : {pipewire::CursorMode::Auto, pipewire::CursorMode::Embedded,
                           pipewire::CursorMode::Metadata, pipewire::CursorMode::Hidden}) {
        if (text == cursor_mode_name(candidate)) {
            mode = candidate;
            return true;
        }
    }
    expected = "expected auto, embedded, metadata or hidden";
    return false;
}

bool parse_switch(const std::string &text, bool &on, std::string &expected) {
    if (text != "true" && text != "false") {
        expected = "expected true or false";
        return false;
    }
    on = text == "true";
    return true;
}

bool parse_camera_fps(const std::string &text, uint32_t &fps, std::string &expected) {
    // Cameras run at film to high-speed rates; every frame is a copy of the whole picture into
    // some buffer, so the top is kept where consumers still keep up.
    if (!parse_number(text, 1, 120, fps)) {
        expected = "expected frames a second from 1 to 120";
        return false;
    }
    return true;
}

bool parse_camera_size(const std::string &text, std::optional<frame::Size> &size,
                       std::string &expected) {
    // Even: the consumers' encoders subsample chroma 2x2. 16 is where a picture still shows.
    constexpr uint32_t kMin = 16, kMax = 8192;
    const size_t cross = text.find('x');
    uint32_t width = 0, height = 0;
    if (cross == std::string::npos || !parse_number(text.substr(0, cross), kMin, kMax, width) ||
        !parse_number(text.substr(cross + 1), kMin, kMax, height) || width % 2 != 0 ||
        height % 2 != 0) {
        expected = "expected WIDTHxHEIGHT, each even and from 16 to 8192, such as 1280x720";
        return false;
    }
    size = frame::Size{width, height};
    return true;
}

bool parse_web_listen(const std::string &text, std::string &listen, std::string &expected) {
    std::string host, why;
    uint16_t port = 0;
    if (!web::parse_listen_address(text, host, port, why)) {
        expected = "expected HOST:PORT, [IPv6]:PORT, HOST or :PORT (" + why + ")";
        return false;
    }
    listen = text;
    return true;
}

bool parse_web_codec(const std::string &text, std::string &codec, std::string &expected) {
    if (text != "h264" && text != "vp8") {
        expected = "expected h264 or vp8";
        return false;
    }
    codec = text;
    return true;
}

bool parse_web_bitrate(const std::string &text, uint32_t &kbps, std::string &expected) {
    if (!parse_number(text, 100, 100000, kbps)) {
        expected = "expected kbit/s from 100 to 100000";
        return false;
    }
    return true;
}

const char *cursor_mode_name(pipewire::CursorMode mode) {
    switch (mode) {
    case pipewire::CursorMode::Auto:
        return "auto";
    case pipewire::CursorMode::Embedded:
        return "embedded";
    case pipewire::CursorMode::Metadata:
        return "metadata";
    case pipewire::CursorMode::Hidden:
        return "hidden";
    }
    return "auto";
}

std::string bad_value(const std::string &where, const std::string &expected,
                      const std::string &text) {
    // Escaped: a value may hold a newline (GKeyFile's \n), and the error must stay one line.
    GCharPtr escaped(g_strescape(text.c_str(), nullptr));
    return where + ": " + expected + ", got \"" + escaped.get() + "\"";
}

bool parse_wayland_socket(const std::string &text, std::string &socket, std::string &expected) {
    // A socket's path must fit sockaddr_un, with $XDG_RUNTIME_DIR in front of a name.
    constexpr size_t kMaxPath = sizeof(sockaddr_un::sun_path) - 1;
    const bool path = text.starts_with('/');
    const bool name = !text.empty() && text.find('/') == std::string::npos && text[0] != '.';
    const size_t slash = text.rfind('/');
    if ((!path && !name) || text.size() > kMaxPath ||
        (path && (slash + 1 == text.size() || text.ends_with("/.") || text.ends_with("/..")))) {
        expected = "expected a socket name in $XDG_RUNTIME_DIR (no /) or an absolute path "
                   "(at most " +
                   std::to_string(kMaxPath) + " characters)";
        return false;
    }
    socket = text;
    return true;
}

std::string default_wayland_socket(const std::vector<std::string> &vm_names) {
    if (vm_names.size() == 1 && vm_names[0].find('/') == std::string::npos)
        return "vmcast-" + vm_names[0];
    return "vmcast-0";
}

} // namespace vmcast::app
