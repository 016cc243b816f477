#include "compositor/virtual_input.h"

#include <glib.h>

#include "compositor/virtual_keyboard.h"
#include "compositor/virtual_pointer.h"
#include "compositor/wlr.h"
#include "virtual-keyboard-unstable-v1-protocol.h"

namespace vmcast::compositor {

AttachedConsoleInput::~AttachedConsoleInput() {
    // Keyboards forget what they held there first, while their users can still let go of it.
    for (VirtualKeyboard *keyboard : input_.keyboards_)
        keyboard->console_detached(id_);
    input_.consoles_.erase(id_);
    if (input_.pointer_console_ == id_)
        input_.pointer_console_.reset();
}

ConsoleInputUser *ConsoleUse::user_for(uint64_t id) {
    if (id != console_ || !user_) {
        // The old user goes first, letting go of what it held on its console.
        user_.reset();
        console_ = id;
        user_ = input_.open(id, user_name_);
    }
    return user_.get();
}

void ConsoleUse::close() {
    user_.reset();
}

std::optional<uint64_t> ConsoleUse::console() const {
    if (!user_ || !input_.is_attached(console_))
        return std::nullopt;
    return console_;
}

std::unique_ptr<VirtualInput> VirtualInput::create(wl_display *display, wlr_output_layout *layout,
                                                   std::string &error) {
    std::unique_ptr<VirtualInput> input(new VirtualInput());
    input->layout_ = layout;
    input->translator_ = KeymapTranslator::create(error);
    if (!input->translator_)
        return nullptr;
    // wtype and wayvnc look for a seat first; its keyboard and pointer are the virtual ones.
    input->seat_ = wlr_seat_create(display, "seat0");
    input->keyboard_manager_ =
        wl_global_create(display, &zwp_virtual_keyboard_manager_v1_interface, 1, input.get(),
                         &VirtualInput::bind_keyboard_manager);
    input->pointer_manager_ = wlr_virtual_pointer_manager_v1_create(display);
    if (!input->seat_ || !input->keyboard_manager_ || !input->pointer_manager_) {
        error = "cannot create the Wayland input globals";
        return nullptr;
    }
    wlr_seat_set_capabilities(input->seat_,
                              WL_SEAT_CAPABILITY_KEYBOARD | WL_SEAT_CAPABILITY_POINTER);
    input->new_pointer_listener_.connect(
        &input->pointer_manager_->events.new_virtual_pointer,
        [raw = input.get()](wlr_virtual_pointer_v1_new_pointer_event *event) {
            raw->new_pointer(event);
        });
    return input;
}

VirtualInput::~VirtualInput() {
    new_pointer_listener_.disconnect();
    pointers_.clear();
    // Clients still connected keep their resources, which then serve nothing.
    while (!keyboards_.empty())
        delete *keyboards_.begin();
    if (keyboard_manager_)
        wl_global_destroy(keyboard_manager_);
    if (seat_)
        wlr_seat_destroy(seat_);
}

std::unique_ptr<AttachedConsoleInput> VirtualInput::attach_console(const std::string &output_name,
                                                                   ConsoleInputOpener opener) {
    const uint64_t id = next_console_++;
    consoles_[id] = {output_name, std::move(opener)};
    return std::make_unique<AttachedConsoleInput>(*this, id);
}

std::optional<uint64_t> VirtualInput::keyboard_console() const {
    if (pointer_console_ && is_attached(*pointer_console_))
        return pointer_console_;
    wlr_output_layout_output *placed = nullptr;
    wl_list_for_each(placed, &layout_->outputs, link) {
        if (std::optional<uint64_t> console = console_of(placed->output))
            return console;
    }
    return std::nullopt;
}

std::optional<uint64_t> VirtualInput::console_of(const wlr_output *output) const {
    for (const auto &[id, console] : consoles_) {
        if (console.output_name == output->name)
            return id;
    }
    return std::nullopt;
}

std::unique_ptr<ConsoleInputUser> VirtualInput::open(uint64_t console,
                                                     const std::string &user_name) const {
    auto found = consoles_.find(console);
    if (found == consoles_.end())
        return nullptr;
    return found->second.opener(user_name);
}

void VirtualInput::bind_keyboard_manager(wl_client *client, void *data, uint32_t version,
                                         uint32_t id) {
    static const struct zwp_virtual_keyboard_manager_v1_interface implementation = {
        .create_virtual_keyboard = &VirtualInput::create_keyboard,
    };
    wl_resource *manager =
        wl_resource_create(client, &zwp_virtual_keyboard_manager_v1_interface, int(version), id);
    if (!manager) {
        wl_client_post_no_memory(client);
        return;
    }
    wl_resource_set_implementation(manager, &implementation, data, nullptr);
}

void VirtualInput::create_keyboard(wl_client *client, wl_resource *manager, wl_resource *,
                                   uint32_t id) {
    auto *input = static_cast<VirtualInput *>(wl_resource_get_user_data(manager));
    wl_resource *keyboard = wl_resource_create(client, &zwp_virtual_keyboard_v1_interface,
                                               wl_resource_get_version(manager), id);
    if (!keyboard) {
        wl_client_post_no_memory(client);
        return;
    }
    VirtualKeyboard::serve(*input, keyboard);
}

void VirtualInput::new_pointer(wlr_virtual_pointer_v1_new_pointer_event *event) {
    auto where = pointers_.insert(pointers_.end(), nullptr);
    *where =
        std::make_unique<VirtualPointer>(*this, *event, [this, where] { pointers_.erase(where); });
}

} // namespace vmcast::compositor
