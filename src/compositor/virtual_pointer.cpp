#include "compositor/virtual_pointer.h"

#include <algorithm>
#include <cmath>

#include "compositor/wlr.h"

namespace vmcast::compositor {
namespace {

// Scroll distance of one wheel click in wl_pointer.axis units (libinput's 15 degrees).
constexpr double kAxisUnitsPerClick = 15;

// The pixel a coordinate is in. wayvnc sends pixel p as p / extent, and p / extent * extent can
// come back just under p (57 / 200 * 200 = 56.99999999999999): an error far below a client's
// finest step (wl_fixed's 1/256) is taken as p, not as the pixel before it.
int32_t pixel_of(double coordinate) {
    return int32_t(std::floor(coordinate + 1.0 / 4096));
}

} // namespace

VirtualPointer::VirtualPointer(VirtualInput &input,
                               const wlr_virtual_pointer_v1_new_pointer_event &event,
                               std::function<void()> on_destroyed)
    : input_(input), use_(input, "Wayland client virtual pointer") {
    if (event.suggested_output)
        output_name_ = event.suggested_output->name;
    wlr_pointer *pointer = event.new_pointer->input_device.pointer;
    motion_listener_.connect(&pointer->events.motion, [this](wlr_event_pointer_motion *motion) {
        move_relative(motion->delta_x, motion->delta_y);
    });
    motion_absolute_listener_.connect(
        &pointer->events.motion_absolute,
        [this](wlr_event_pointer_motion_absolute *motion) { move_absolute(motion->x, motion->y); });
    button_listener_.connect(&pointer->events.button,
                             [this](wlr_event_pointer_button *event) { button(*event); });
    axis_listener_.connect(&pointer->events.axis,
                           [this](wlr_event_pointer_axis *event) { axis(*event); });
    // The device's destroy, not the virtual pointer's: wlroots 0.15 frees the wlr_pointer,
    // whose signals the listeners above are on, before it emits the virtual pointer's.
    destroy_listener_.connect(
        &event.new_pointer->input_device.events.destroy,
        [on_destroyed = std::move(on_destroyed)](wlr_input_device *) { on_destroyed(); });
}

void VirtualPointer::move_absolute(double x, double y) {
    if (!std::isfinite(x) || !std::isfinite(y))
        return;
    wlr_output_layout *layout = input_.layout();
    wlr_output *output = chosen_output();
    // x and y are fractions of the chosen output, or of the box around all outputs.
    const wlr_box area = *wlr_output_layout_get_box(layout, output);
    double layout_x = area.x + std::clamp(x, 0.0, 1.0) * area.width;
    double layout_y = area.y + std::clamp(y, 0.0, 1.0) * area.height;
    if (!output) {
        wlr_output_layout_closest_point(layout, nullptr, layout_x, layout_y, &layout_x, &layout_y);
        output = wlr_output_layout_output_at(layout, layout_x, layout_y);
    }
    std::optional<uint64_t> console = output ? input_.console_of(output) : std::nullopt;
    if (!console)
        return;
    const wlr_box where = *wlr_output_layout_get_box(layout, output);
    absolute_console_ = console;
    input_.pointer_event_on(*console);
    if (ConsoleInputUser *target = use_.user_for(*console))
        target->move_to(std::clamp(pixel_of(layout_x - where.x), 0, std::max(where.width - 1, 0)),
                        std::clamp(pixel_of(layout_y - where.y), 0, std::max(where.height - 1, 0)));
}

void VirtualPointer::move_relative(double dx, double dy) {
    if (!std::isfinite(dx) || !std::isfinite(dy))
        return;
    carried_dx_ += dx;
    carried_dy_ += dy;
    const double whole_dx = std::trunc(carried_dx_);
    const double whole_dy = std::trunc(carried_dy_);
    carried_dx_ -= whole_dx;
    carried_dy_ -= whole_dy;
    // Far beyond any screen: a bigger step means nothing more.
    constexpr double kMaxStep = 1 << 16;
    if (ConsoleInputUser *target = user())
        target->move_by(int32_t(std::clamp(whole_dx, -kMaxStep, kMaxStep)),
                        int32_t(std::clamp(whole_dy, -kMaxStep, kMaxStep)));
}

void VirtualPointer::button(const wlr_event_pointer_button &event) {
    ConsoleInputUser *target = user();
    if (!target)
        return;
    if (event.state == WLR_BUTTON_PRESSED)
        target->press_button(event.button);
    else
        target->release_button(event.button);
}

void VirtualPointer::axis(const wlr_event_pointer_axis &event) {
    const bool vertical = event.orientation == WLR_AXIS_ORIENTATION_VERTICAL;
    double &carried = carried_wheel_[vertical ? 0 : 1];
    int64_t clicks = event.delta_discrete;
    if (clicks == 0 && std::isfinite(event.delta)) {
        carried = std::clamp(carried + event.delta, -1e6, 1e6);
        clicks = int64_t(std::trunc(carried / kAxisUnitsPerClick));
        carried -= double(clicks) * kAxisUnitsPerClick;
    }
    clicks = std::clamp<int64_t>(clicks, -100, 100);
    ConsoleInputUser *target = user();
    if (clicks == 0 || !target)
        return;
    target->scroll(vertical ? int32_t(clicks) : 0, vertical ? 0 : int32_t(clicks));
}

wlr_output *VirtualPointer::chosen_output() const {
    wlr_output_layout_output *placed = nullptr;
    wl_list_for_each(placed, &input_.layout()->outputs, link) {
        if (!output_name_.empty() && output_name_ == placed->output->name)
            return placed->output;
    }
    return nullptr;
}

ConsoleInputUser *VirtualPointer::user() {
    // Worked out each time: the chosen output may appear after the pointer.
    std::optional<uint64_t> console = absolute_console_;
    if (!console || !input_.is_attached(*console)) {
        wlr_output *output = chosen_output();
        console = output ? input_.console_of(output) : std::nullopt;
    }
    if (!console)
        console = input_.keyboard_console();
    if (!console)
        return nullptr;
    input_.pointer_event_on(*console);
    return use_.user_for(*console);
}

} // namespace vmcast::compositor
