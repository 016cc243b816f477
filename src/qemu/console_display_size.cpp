// ConsoleInput's request about the console's display rather than its input devices: the size a
// viewer wants (Console.SetUIInfo).
#include "qemu-display1.h"
#include "qemu/console_input.h"

namespace vmcast::qemu {

void ConsoleInput::send_display_size(uint32_t width, uint32_t height, uint16_t width_mm,
                                     uint16_t height_mm, SizeCallback done) {
    if (!check_ready("display size")) {
        done("the console's input is not ready yet");
        return;
    }
    g_debug("%s: asking for a %ux%u display (%ux%u mm)", log_name_.c_str(), width, height, width_mm,
            height_mm);
    qemu_display_console_call_set_uiinfo(
        console_.get(), width_mm, height_mm, 0, 0, width, height, cancellable_.get(),
        [](GObject *source, GAsyncResult *result, gpointer data) {
            std::unique_ptr<SizeCallback> done(static_cast<SizeCallback *>(data));
            GError *raw_error = nullptr;
            qemu_display_console_call_set_uiinfo_finish(QEMU_DISPLAY_CONSOLE(source), result,
                                                        &raw_error);
            GErrorPtr error(raw_error);
            if (error && g_error_matches(error.get(), G_IO_ERROR, G_IO_ERROR_CANCELLED))
                return; // the ConsoleInput is gone
            if (!error) {
                (*done)({});
                return;
            }
            GCharPtr remote(g_dbus_error_get_remote_error(error.get()));
            g_dbus_error_strip_remote_error(error.get());
            // QEMU says "SetUIInfo is not supported" when the display device cannot resize
            // (e.g. std VGA); virtio-gpu can.
            const bool unsupported = remote && g_str_has_suffix(remote.get(), ".Error.Unsupported");
            (*done)(unsupported
                        ? "this VM's display device does not follow the window "
                          "size (QEMU: " +
                              std::string(error->message) + "); virtio-vga or virtio-gpu does"
                        : std::string("QEMU refused the display size: ") + error->message);
        },
        new SizeCallback(std::move(done)));
}

} // namespace vmcast::qemu
