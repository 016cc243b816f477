// One zwlr_virtual_pointer_v1 of a client (wayvnc): absolute motion on the output the client
// chose (or the whole layout), relative motion, buttons and the wheel, into the console under
// the pointer. Destroyed with the client's pointer, letting go of the buttons it held.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "compositor/virtual_input.h"
#include "compositor/wl_listener.h"

struct wlr_event_pointer_axis;
struct wlr_event_pointer_button;
struct wlr_event_pointer_motion;
struct wlr_event_pointer_motion_absolute;
struct wlr_input_device;
struct wlr_output;
struct wlr_virtual_pointer_v1_new_pointer_event;

namespace vmcast::compositor {

class VirtualPointer {
  public:
    // on_destroyed runs when the client's pointer goes; it may destroy this.
    VirtualPointer(VirtualInput &input, const wlr_virtual_pointer_v1_new_pointer_event &event,
                   std::function<void()> on_destroyed);
    VirtualPointer(const VirtualPointer &) = delete;
    VirtualPointer &operator=(const VirtualPointer &) = delete;

  private:
    void move_absolute(double x, double y);
    void move_relative(double dx, double dy);
    void button(const wlr_event_pointer_button &event);
    void axis(const wlr_event_pointer_axis &event);
    // The output the client chose, while it is in the layout.
    wlr_output *chosen_output() const;
    // The user of the console the pointer is on: where it last landed, else the chosen
    // output's, else the console keys go to.
    ConsoleInputUser *user();

    VirtualInput &input_;
    // The output the client chose, by name: it may go while the client stays.
    std::string output_name_;
    // The console its last absolute motion landed on.
    std::optional<uint64_t> absolute_console_;
    // Sub-pixel motion and sub-click wheel deltas carried to the next event.
    double carried_dx_ = 0;
    double carried_dy_ = 0;
    double carried_wheel_[2] = {0, 0};
    ConsoleUse use_;
    WlListener<wlr_event_pointer_motion> motion_listener_;
    WlListener<wlr_event_pointer_motion_absolute> motion_absolute_listener_;
    WlListener<wlr_event_pointer_button> button_listener_;
    WlListener<wlr_event_pointer_axis> axis_listener_;
    WlListener<wlr_input_device> destroy_listener_;
};

} // namespace vmcast::compositor
