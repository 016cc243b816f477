#include <glib-unix.h>

#include "app/commands.h"
#include "app/png_file.h"
#include "qemu/console_listener.h"
#include "qemu/display_bus.h"

namespace vmcast::app {
namespace {

constexpr guint kFirstFrameTimeoutSeconds = 10;

// Waits for the picture QEMU sends every new listener right after registration.
class FirstFrameSink final : public qemu::DisplaySink {
  public:
    explicit FirstFrameSink(GMainLoop *loop) : loop_(loop) {}

    void frame_changed(const std::shared_ptr<const frame::CpuFrame> &frame,
                       const frame::PixelSurface::Change &) override {
        if (!frame->empty())
            finish("");
    }
    void cursor_defined(uint32_t, uint32_t, int32_t, int32_t, std::span<const uint8_t>) override {}
    void mouse_moved(int32_t, int32_t, bool) override {}
    // A screenshot needs the pixels in memory.
    bool show_dmabuf_on_gpu(const std::vector<frame::DmabufPlane> &,
                            const frame::DmabufLayout &) override {
        return false;
    }
    void dmabuf_damaged(const frame::Rect &) override {}
    void display_disabled() override { finish("the console's display is disabled"); }
    void after_next_render(std::function<void()> done) override { done(); }
    void listener_closed() override { finish("QEMU closed the display connection"); }

    void finish(const std::string &error) {
        if (done_)
            return;
        done_ = true;
        error_ = error;
        g_main_loop_quit(loop_);
    }
    bool done() const { return done_; }
    const std::string &error() const { return error_; }

  private:
    GMainLoop *loop_;
    bool done_ = false;
    std::string error_;
};

} // namespace

int run_screenshot(const Options &options) {
    std::string error;
    std::optional<ChosenVm> chosen = connect_to_vm(options, error);
    if (!chosen)
        return fail(error);
    GDBusConnection *bus = chosen->bus.get();
    const qemu::VmInfo &vm = chosen->vm;
    const qemu::ConsoleInfo *console = nullptr;
    for (const qemu::ConsoleInfo &candidate : vm.consoles) {
        if (candidate.index == options.console)
            console = &candidate;
    }
    if (!console)
        return fail("VM '" + vm.name + "' has no console " + std::to_string(options.console));
    if (!console->graphic())
        return fail("console " + std::to_string(options.console) + " of VM '" + vm.name +
                    "' is a text console");

    struct LoopUnref {
        void operator()(GMainLoop *loop) const { g_main_loop_unref(loop); }
    };
    std::unique_ptr<GMainLoop, LoopUnref> loop(g_main_loop_new(nullptr, FALSE));
    FirstFrameSink sink(loop.get());
    qemu::ConsoleListener listener(bus, vm.bus_name, console->index, sink,
                                   vm.name + " console " + std::to_string(console->index));
    listener.start();
    GSourcePtr timeout(g_timeout_source_new_seconds(kFirstFrameTimeoutSeconds));
    g_source_set_callback(
        timeout.get(),
        [](gpointer data) -> gboolean {
            static_cast<FirstFrameSink *>(data)->finish("QEMU sent no picture within 10 s");
            return G_SOURCE_REMOVE;
        },
        &sink, nullptr);
    g_source_attach(timeout.get(), nullptr);
    g_main_loop_run(loop.get());
    if (!sink.error().empty())
        return fail(sink.error());
    if (!write_png(*listener.picture(), options.output_png, error))
        return fail(error);
    return 0;
}

} // namespace vmcast::app
