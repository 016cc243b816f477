// Input from Wayland clients into the consoles (--wayland): `seat0` with keyboard and pointer
// capabilities, zwp_virtual_keyboard_manager_v1 (wtype, wayvnc) and
// zwlr_virtual_pointer_manager_v1 (wayvnc). Consoles are attached by their output's name with a
// way to open their input (src/app wires it to QEMU), so this module never knows QEMU.
#pragma once

#include <cstdint>
#include <list>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>

#include "common/console_input_user.h"
#include "compositor/keymap_translator.h"
#include "compositor/wl_listener.h"

struct wl_display;
struct wl_client;
struct wl_global;
struct wl_resource;
struct wlr_output;
struct wlr_output_layout;
struct wlr_seat;
struct wlr_virtual_pointer_manager_v1;
struct wlr_virtual_pointer_v1_new_pointer_event;

namespace vmcast::compositor {

class VirtualKeyboard;
class VirtualPointer;
class VirtualInput;

// A console's input attached to its output: clients reach it until this is destroyed.
class AttachedConsoleInput {
  public:
    AttachedConsoleInput(VirtualInput &input, uint64_t id) : input_(input), id_(id) {}
    AttachedConsoleInput(const AttachedConsoleInput &) = delete;
    AttachedConsoleInput &operator=(const AttachedConsoleInput &) = delete;
    ~AttachedConsoleInput();

  private:
    VirtualInput &input_;
    uint64_t id_;
};

// One client device's user of one console's input, opened again when the device moves to
// another console (which lets go of what it held on the old one).
class ConsoleUse {
  public:
    ConsoleUse(VirtualInput &input, std::string user_name)
        : input_(input), user_name_(std::move(user_name)) {}
    // The user of console id; nullptr when that console is gone.
    ConsoleInputUser *user_for(uint64_t id);
    // The console used now, while it is attached.
    std::optional<uint64_t> console() const;
    // Lets go of everything held on the console used now; the next user_for opens one again.
    void close();

  private:
    VirtualInput &input_;
    std::string user_name_;
    uint64_t console_ = 0;
    std::unique_ptr<ConsoleInputUser> user_;
};

class VirtualInput {
  public:
    // nullptr and a reason in error when the globals cannot be made.
    static std::unique_ptr<VirtualInput> create(wl_display *display, wlr_output_layout *layout,
                                                std::string &error);
    VirtualInput(const VirtualInput &) = delete;
    VirtualInput &operator=(const VirtualInput &) = delete;
    ~VirtualInput();

    std::unique_ptr<AttachedConsoleInput> attach_console(const std::string &output_name,
                                                         ConsoleInputOpener opener);

    // For the devices. Consoles are named by the id attach_console gave them.
    // The console under the seat's last pointer event, or the first console of the layout.
    std::optional<uint64_t> keyboard_console() const;
    std::optional<uint64_t> console_of(const wlr_output *output) const;
    bool is_attached(uint64_t console) const { return consoles_.contains(console); }
    std::unique_ptr<ConsoleInputUser> open(uint64_t console, const std::string &user_name) const;
    void pointer_event_on(uint64_t console) { pointer_console_ = console; }
    wlr_output_layout *layout() const { return layout_; }
    const KeymapTranslator &translator() const { return *translator_; }

  private:
    friend class AttachedConsoleInput;
    friend class VirtualKeyboard;
    VirtualInput() = default;
    static void bind_keyboard_manager(wl_client *client, void *data, uint32_t version, uint32_t id);
    static void create_keyboard(wl_client *client, wl_resource *manager, wl_resource *seat,
                                uint32_t id);
    void new_pointer(wlr_virtual_pointer_v1_new_pointer_event *event);

    struct Console {
        std::string output_name;
        ConsoleInputOpener opener;
    };
    wlr_output_layout *layout_ = nullptr;
    std::unique_ptr<KeymapTranslator> translator_;
    wlr_seat *seat_ = nullptr;
    wl_global *keyboard_manager_ = nullptr;
    wlr_virtual_pointer_manager_v1 *pointer_manager_ = nullptr;
    WlListener<wlr_virtual_pointer_v1_new_pointer_event> new_pointer_listener_;
    std::map<uint64_t, Console> consoles_;
    uint64_t next_console_ = 1;
    std::optional<uint64_t> pointer_console_;
    std::set<VirtualKeyboard *> keyboards_; // each owned by its resource
    std::list<std::unique_ptr<VirtualPointer>> pointers_;
};

} // namespace vmcast::compositor
