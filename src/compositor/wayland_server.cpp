#include "compositor/wayland_server.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <glib.h>

#include "compositor/wlr.h"

namespace vmcast::compositor {
namespace {

// Whoever can open the socket sees every console and types into them: its
// directory must be the user's alone.
bool check_private_directory(const std::string &directory, std::string &error) {
    struct stat info = {};
    if (stat(directory.c_str(), &info) != 0) {
        error = "cannot use " + directory + " for the Wayland socket: " + strerror(errno);
        return false;
    }
    if (!S_ISDIR(info.st_mode) || info.st_uid != getuid() || (info.st_mode & 077) != 0) {
        error = "the Wayland socket's directory " + directory +
                " must be a directory of this user that only it can open (mode 0700)";
        return false;
    }
    return true;
}

// The directory the socket goes in: $XDG_RUNTIME_DIR for a name; for a path, its parent,
// made 0700 when missing.
bool prepare_directory(const std::string &socket, std::string &error) {
    if (socket.front() != '/') {
        const char *runtime_dir = getenv("XDG_RUNTIME_DIR");
        if (!runtime_dir || !*runtime_dir) {
            error = "XDG_RUNTIME_DIR is not set: give --wayland an absolute path";
            return false;
        }
        return check_private_directory(runtime_dir, error);
    }
    const std::string parent = socket.substr(0, socket.rfind('/'));
    if (parent.empty()) {
        error = "the Wayland socket cannot be in /";
        return false;
    }
    if (mkdir(parent.c_str(), 0700) != 0 && errno != EEXIST) {
        error = "cannot make " + parent + " for the Wayland socket: " + strerror(errno);
        return false;
    }
    return check_private_directory(parent, error);
}

} // namespace

std::unique_ptr<WaylandServer> WaylandServer::open(wl_display *display, wlr_renderer *renderer,
                                                   const std::string &socket, std::string &error) {
    if (!prepare_directory(socket, error))
        return nullptr;
    std::unique_ptr<WaylandServer> server(new WaylandServer());
    server->display_ = display;
    // wl_shm always; wl_drm and linux-dmabuf only when the renderer imports DMA-BUFs (GLES2).
    if (!wlr_renderer_init_wl_display(renderer, display)) {
        error = "cannot offer wl_shm to Wayland clients";
        return nullptr;
    }
    server->layout_ = wlr_output_layout_create();
    wlr_xdg_output_manager_v1_create(display, server->layout_);
    wlr_screencopy_manager_v1_create(display);
    server->screencopy_limit_ = std::make_unique<ScreencopyFrameLimit>(display);
    server->output_manager_ = wlr_output_manager_v1_create(display);
    if (!server->layout_ || !server->output_manager_) {
        error = "cannot create the Wayland globals";
        return nullptr;
    }
    server->virtual_input_ = VirtualInput::create(display, server->layout_, error);
    if (!server->virtual_input_)
        return nullptr;
    // Outputs follow their consoles: a client may look, never change them.
    server->apply_listener_.connect(
        &server->output_manager_->events.apply,
        [raw = server.get()](wlr_output_configuration_v1 *config) { raw->refuse(config); });
    server->test_listener_.connect(
        &server->output_manager_->events.test,
        [raw = server.get()](wlr_output_configuration_v1 *config) { raw->refuse(config); });
    // wl_display_add_socket takes a name in $XDG_RUNTIME_DIR or an absolute path; its .lock
    // file keeps a second compositor off the same socket.
    if (wl_display_add_socket(display, socket.c_str()) != 0) {
        error = "cannot open the Wayland socket " + socket +
                " (another compositor has it, or the name is too long)";
        return nullptr;
    }
    server->display_name_ = socket;
    return server;
}

WaylandServer::~WaylandServer() {
    apply_listener_.disconnect();
    test_listener_.disconnect();
    virtual_input_.reset();
    if (layout_)
        wlr_output_layout_destroy(layout_);
}

void WaylandServer::add_output(wlr_output *output) {
    wlr_output_layout_add_auto(layout_, output);
    publish_configuration();
}

void WaylandServer::remove_output(wlr_output *output) {
    // The layout places the others again; clients then hear where they are now.
    wlr_output_layout_remove(layout_, output);
    publish_configuration();
}

void WaylandServer::publish_configuration() {
    wlr_output_configuration_v1 *config = wlr_output_configuration_v1_create();
    wlr_output_layout_output *placed = nullptr;
    wl_list_for_each(placed, &layout_->outputs, link) {
        wlr_output_configuration_head_v1 *head =
            wlr_output_configuration_head_v1_create(config, placed->output);
        head->state.x = placed->x;
        head->state.y = placed->y;
    }
    // Takes the configuration.
    wlr_output_manager_v1_set_configuration(output_manager_, config);
}

void WaylandServer::refuse(wlr_output_configuration_v1 *config) {
    g_info("refused a Wayland client's output configuration: outputs follow their consoles");
    wlr_output_configuration_v1_send_failed(config);
    wlr_output_configuration_v1_destroy(config);
}

} // namespace vmcast::compositor
