// What Wayland clients (grim, wf-recorder, wlr-randr, wtype, wayvnc) see of the compositor when
// vmcast runs with --wayland: a socket in a directory only the user can open, wl_shm (and
// linux-dmabuf with GLES2), one wl_output per console in an output layout, xdg-output,
// screencopy, a read-only output management, and a seat with virtual keyboards and pointers
// (virtual_input.h). Without --wayland none of it exists: no socket, no globals.
#pragma once

#include <memory>
#include <string>

#include "common/console_input_user.h"
#include "compositor/screencopy_limit.h"
#include "compositor/virtual_input.h"
#include "compositor/wl_listener.h"

struct wl_display;
struct wlr_output;
struct wlr_output_layout;
struct wlr_output_manager_v1;
struct wlr_output_configuration_v1;
struct wlr_renderer;

namespace vmcast::compositor {

class WaylandServer {
  public:
    // socket: a name in $XDG_RUNTIME_DIR or an absolute path. nullptr and a one-line reason
    // in error when the socket's directory is open to others or the socket cannot be made.
    static std::unique_ptr<WaylandServer> open(wl_display *display, wlr_renderer *renderer,
                                               const std::string &socket, std::string &error);
    WaylandServer(const WaylandServer &) = delete;
    WaylandServer &operator=(const WaylandServer &) = delete;
    // Every output must have been removed, and the display's clients destroyed, first.
    ~WaylandServer();

    // What a client sets WAYLAND_DISPLAY to.
    const std::string &display_name() const { return display_name_; }

    // output joins the layout, which advertises it (its name must be final by then).
    void add_output(wlr_output *output);
    // output's mode changed: output management clients hear of it.
    void output_changed() { publish_configuration(); }
    // output leaves the layout, before it is destroyed.
    void remove_output(wlr_output *output);
    // Input from clients' virtual keyboards and pointers on the output named output_name goes
    // to opener's users, until the result is destroyed.
    std::unique_ptr<AttachedConsoleInput> attach_console_input(const std::string &output_name,
                                                               ConsoleInputOpener opener) {
        return virtual_input_->attach_console(output_name, std::move(opener));
    }

  private:
    WaylandServer() = default;
    // Tells output management clients the outputs in the layout, where and how big they are.
    void publish_configuration();
    void refuse(wlr_output_configuration_v1 *config);

    wl_display *display_ = nullptr;
    std::string display_name_;
    wlr_output_layout *layout_ = nullptr;
    wlr_output_manager_v1 *output_manager_ = nullptr;
    WlListener<wlr_output_configuration_v1> apply_listener_;
    WlListener<wlr_output_configuration_v1> test_listener_;
    std::unique_ptr<ScreencopyFrameLimit> screencopy_limit_;
    std::unique_ptr<VirtualInput> virtual_input_;
};

} // namespace vmcast::compositor
