// ConsoleInput's requests about the console's display rather than its input devices: the size a
// viewer wants (Console.SetUIInfo), and whether a touch point fits the console.
#include <cmath>

#include "qemu-display1.h"
#include "qemu/console_input.h"

namespace vmcast::qemu {
namespace {

struct SizeRequest {
    ConsoleInput::SizeCallback done;
};

} // namespace

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
            std::unique_ptr<SizeRequest> request(static_cast<SizeRequest *>(data));
            GError *raw_error = nullptr;
            qemu_display_console_call_set_uiinfo_finish(QEMU_DISPLAY_CONSOLE(source), result,
                                                        &raw_error);
            GErrorPtr error(raw_error);
            if (error && g_error_matches(error.get(), G_IO_ERROR, G_IO_ERROR_CANCELLED))
                return; // the ConsoleInput is gone
            if (!error) {
                request->done({});
                return;
            }
            GCharPtr remote(g_dbus_error_get_remote_error(error.get()));
            g_dbus_error_strip_remote_error(error.get());
            // QEMU says "SetUIInfo is not supported" when the display device cannot resize
            // (e.g. std VGA); virtio-gpu can.
            const bool unsupported = remote && g_str_has_suffix(remote.get(), ".Error.Unsupported");
            request->done(unsupported
                              ? "this VM's display device does not follow the window "
                                "size (QEMU: " +
                                    std::string(error->message) + "); virtio-vga or virtio-gpu does"
                              : std::string("QEMU refused the display size: ") + error->message);
        },
        new SizeRequest{std::move(done)});
}

std::string ConsoleInput::touch_refusal(double x, double y) const {
    if (ready_ && !multitouch_)
        return "touch input needs QEMU 8.1 or later with a multitouch device on this console";
    const uint32_t width = console_ ? qemu_display_console_get_width(console_.get()) : 0;
    const uint32_t height = console_ ? qemu_display_console_get_height(console_.get()) : 0;
    if (!std::isfinite(x) || !std::isfinite(y) || x < 0 || y < 0 || (width > 0 && x >= width) ||
        (height > 0 && y >= height))
        return "touch point (" + std::to_string(int64_t(x)) + ", " + std::to_string(int64_t(y)) +
               ") is outside the " + std::to_string(width) + "x" + std::to_string(height) +
               " console";
    return {};
}

} // namespace vmcast::qemu
