// QEMU's calls on a console's display listener (org.qemu.Display1.Listener and its Unix.Map and
// Unix.ScanoutDMABUF2 interfaces) as D-Bus messages on the listener's own socket: a fuzzed
// sequence of Scanout, Update, ScanoutMap/UpdateMap (memfds of fuzzed size and contents, which
// may shrink afterwards), ScanoutDMABUF/ScanoutDMABUF2 (memfd planes, read on the CPU as the
// pixman path reads LINEAR DMA-BUFs), UpdateDMABUF, CursorDefine, MouseSet, Disable and changes
// of the console's size. The target plays QEMU: it serves the console on a peer-to-peer GDBus
// connection, a fresh ConsoleListener registers there, and the target speaks sd-bus as the
// server on the socket it was given. Behind the listener: the frame conversion and validation,
// and a ConsoleOutput of a headless pixman wlroots compositor that renders each frame.
#include <fuzzer/FuzzedDataProvider.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <systemd/sd-bus.h>
#include <unistd.h>
#include <wayland-server-core.h>

#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <vector>

#include <gio/gio.h>
#include <glib-unix.h>

#include "common/glib_ptr.h"
#include "common/unique_fd.h"
#include "compositor/compositor.h"
#include "compositor/console_output.h"
#include "p2p_dbus.h"
#include "qemu-display1.h"
#include "qemu/console_listener.h"

using namespace vmcast;

namespace {

constexpr const char *kConsolePath = "/org/qemu/Display1/Console_0";
constexpr const char *kListenerPath = "/org/qemu/Display1/Listener";
constexpr uint32_t kMaxMemfdSize = 4 << 20;
constexpr size_t kMaxPlanes = 5; // one more than vmcast takes

// What the daemon's ConsoleSession does with the listener's reports, without PipeWire: the
// output composites, and a sink renders every frame into memory as a stream's buffer would.
class OutputSink final : public qemu::DisplaySink, public FrameSink {
  public:
    // A small first size: the output starts with a black frame of it.
    OutputSink(compositor::Compositor &compositor, std::vector<uint8_t> &pixels)
        : output_(compositor, "fuzz.0", "fuzzed console", 16, 16, 60, cursor_), pixels_(pixels) {
        output_.set_frame_interval_us(1); // every change renders in the next main loop pass
        output_.add_sink(*this);
    }
    ~OutputSink() override { output_.remove_sink(*this); }

    void frame_changed(const std::shared_ptr<const frame::CpuFrame> &frame,
                       const frame::PixelSurface::Change &change) override {
        output_.show_frame(frame, change);
    }
    void cursor_defined(uint32_t width, uint32_t height, int32_t hot_x, int32_t hot_y,
                        std::span<const uint8_t> argb) override {
        cursor_.set_image(width, height, hot_x, hot_y, argb);
        output_.cursor_changed(true);
    }
    void mouse_moved(int32_t x, int32_t y, bool visible) override {
        cursor_.move(x, y, visible);
        output_.cursor_changed(false);
    }
    bool show_dmabuf_on_gpu(const std::vector<frame::DmabufPlane> &planes,
                            const frame::DmabufLayout &layout) override {
        return output_.show_dmabuf(planes, layout);
    }
    void dmabuf_damaged(const frame::Rect &rect) override { output_.damage_dmabuf(rect); }
    void display_disabled() override { output_.show_nothing(); }
    void after_next_render(std::function<void()> done) override {
        output_.after_next_frame(std::move(done));
    }
    void listener_closed() override {}

    void frame_ready(FrameRenderer &frame, const frame::DamageRegion &damage) override {
        pixels_.resize(size_t(frame.width()) * frame.height() * 4);
        frame.render(damage, pixels_.data(), size_t(frame.width()) * 4);
    }
    void size_changed(uint32_t, uint32_t) override {}

  private:
    frame::Cursor cursor_;
    compositor::ConsoleOutput output_;
    std::vector<uint8_t> &pixels_;
};

// Made once: what GLib, GDBus and wlroots keep for the process anyway.
struct Process {
    std::unique_ptr<compositor::Compositor> compositor;
    GObjectPtr<GDBusConnection> qemu_side;   // QEMU's end: serves the console
    GObjectPtr<GDBusConnection> vmcast_side; // the display connection vmcast is given
    GObjectPtr<QemuDisplayConsole> console;
    UniqueFd listener_socket;      // from the last RegisterListener
    std::vector<uint8_t> rendered; // the frames' pixels, kept at the largest size so far
};
Process *process;

// Errors and criticals are bugs; the warnings vmcast answers QEMU with are expected by the
// thousand.
GLogWriterOutput log_writer(GLogLevelFlags level, const GLogField *fields, gsize count, gpointer) {
    if (!(level & (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL)))
        return G_LOG_WRITER_HANDLED;
    g_log_writer_standard_streams(level, fields, count, nullptr);
    abort();
}

gboolean on_register_listener(QemuDisplayConsole *console, GDBusMethodInvocation *invocation,
                              GUnixFDList *fds, GVariant *handle, gpointer) {
    int fd = fds ? g_unix_fd_list_get(fds, g_variant_get_handle(handle), nullptr) : -1;
    process->listener_socket = UniqueFd(fd);
    qemu_display_console_complete_register_listener(console, invocation, nullptr);
    return TRUE;
}

// QEMU's side of one listener connection: the sd-bus server on the socket vmcast registered.
class Qemu {
  public:
    explicit Qemu(UniqueFd socket) {
        const int fd = socket.release();
        sd_bus_new(&bus_);
        sd_bus_set_fd(bus_, fd, fd);
        sd_bus_set_server(
            bus_, 1, SD_ID128_MAKE(76, 6d, 63, 61, 73, 74, 66, 75, 7a, 7a, 6c, 69, 73, 74, 65, 6e));
        sd_bus_negotiate_fds(bus_, 1);
        sd_bus_start(bus_);
        // Wakes the main loop for vmcast's answers, which sd_bus_process reads.
        watch_.reset(g_unix_fd_source_new(fd, G_IO_IN));
        g_source_set_callback(watch_.get(), G_SOURCE_FUNC(keep_watching), nullptr, nullptr);
        g_source_attach(watch_.get(), nullptr);
        // As QEMU does: the handshake, then the listener's properties (vmcast reads no fd
        // before it has seen the end of the handshake).
        while (sd_bus_is_ready(bus_) == 0 && sd_bus_is_open(bus_) > 0) {
            if (sd_bus_process(bus_, nullptr) == 0)
                g_main_context_iteration(nullptr, TRUE);
        }
        sd_bus_message *get_all = call("org.freedesktop.DBus.Properties", "GetAll");
        sd_bus_message_append(get_all, "s", "org.qemu.Display1.Listener");
        send(get_all);
    }
    ~Qemu() {
        watch_.reset(); // before sd-bus closes the fd
        sd_bus_close_unref(bus_);
    }

    sd_bus_message *call(const char *interface, const char *member) {
        sd_bus_message *message = nullptr;
        sd_bus_message_new_method_call(bus_, &message, nullptr, kListenerPath, interface, member);
        return message;
    }
    // Sends the call and runs both ends until it is answered (or the connection is gone).
    void send(sd_bus_message *message) {
        bool answered = false;
        const int sent = sd_bus_call_async(
            bus_, nullptr, message,
            [](sd_bus_message *, void *done, sd_bus_error *) {
                *static_cast<bool *>(done) = true;
                return 0;
            },
            &answered, 0);
        sd_bus_message_unref(message);
        if (sent < 0)
            g_error("cannot send a call to vmcast: %s", strerror(-sent));
        while (!answered && sd_bus_is_open(bus_) > 0) {
            while (sd_bus_process(bus_, nullptr) > 0) {
            }
            if (!answered)
                g_main_context_iteration(nullptr, TRUE);
        }
    }

  private:
    static gboolean keep_watching(gint, GIOCondition, gpointer) { return G_SOURCE_CONTINUE; }

    sd_bus *bus_ = nullptr;
    GSourcePtr watch_;
};

// A memfd of fuzzed size whose first bytes are fuzzed (a small input can make a large frame);
// the rest reads as zeros.
UniqueFd fuzzed_memfd(FuzzedDataProvider &input) {
    UniqueFd fd(memfd_create("fuzzed", MFD_CLOEXEC));
    const uint32_t size = input.ConsumeIntegralInRange<uint32_t>(0, kMaxMemfdSize);
    const std::vector<uint8_t> bytes =
        input.ConsumeBytes<uint8_t>(input.ConsumeIntegralInRange<uint32_t>(0, size));
    if (ftruncate(fd.get(), size) < 0 || write(fd.get(), bytes.data(), bytes.size()) < 0)
        abort();
    return fd;
}

void append_bytes(sd_bus_message *message, FuzzedDataProvider &input) {
    const std::vector<uint8_t> bytes =
        input.ConsumeBytes<uint8_t>(input.ConsumeIntegralInRange<size_t>(0, kMaxMemfdSize));
    sd_bus_message_append_array(message, 'y', bytes.data(), bytes.size());
}

void append_ints(sd_bus_message *message, FuzzedDataProvider &input, const char *types) {
    for (const char *type = types; *type; type++) {
        const uint32_t value = input.ConsumeIntegral<uint32_t>();
        sd_bus_message_append_basic(message, *type, &value);
    }
}

void append_u32_array(sd_bus_message *message, FuzzedDataProvider &input) {
    std::vector<uint32_t> values(input.ConsumeIntegralInRange<size_t>(0, kMaxPlanes));
    for (uint32_t &value : values)
        value = input.ConsumeIntegral<uint32_t>();
    sd_bus_message_append_array(message, 'u', values.data(), values.size() * sizeof(uint32_t));
}

void append_modifier_y0_top(sd_bus_message *message, FuzzedDataProvider &input) {
    const uint64_t modifier = input.ConsumeIntegral<uint64_t>();
    sd_bus_message_append(message, "tb", modifier, int(input.ConsumeBool()));
}

void append_dmabuf2(sd_bus_message *message, FuzzedDataProvider &input) {
    sd_bus_message_open_container(message, 'a', "h");
    for (size_t planes = input.ConsumeIntegralInRange<size_t>(0, kMaxPlanes); planes > 0; planes--)
        sd_bus_message_append(message, "h", fuzzed_memfd(input).get()); // sd-bus keeps a dup
    sd_bus_message_close_container(message);
    append_ints(message, input, "uuuu");
    append_u32_array(message, input);
    append_u32_array(message, input);
    append_ints(message, input, "uuuu");
    append_modifier_y0_top(message, input);
}

enum class Step {
    Scanout,
    Update,
    ScanoutMap,
    UpdateMap,
    ShrinkMap,
    ScanoutDmabuf,
    ScanoutDmabuf2,
    UpdateDmabuf,
    CursorDefine,
    MouseSet,
    Disable,
    ConsoleSize,
    kMaxValue = ConsoleSize,
};

// Runs the main loop until a call on vmcast's display connection is answered: what QEMU sent
// before it has been handled, and GDBus's thread has let go of what it sent and read.
void sync_display_connection() {
    bool answered = false;
    g_dbus_connection_call(
        process->vmcast_side.get(), nullptr, kConsolePath, "org.freedesktop.DBus.Peer", "Ping",
        nullptr, nullptr, G_DBUS_CALL_FLAGS_NONE, -1, nullptr,
        [](GObject *connection, GAsyncResult *result, gpointer done) {
            GVariantPtr(
                g_dbus_connection_call_finish(G_DBUS_CONNECTION(connection), result, nullptr));
            *static_cast<bool *>(done) = true;
        },
        &answered);
    while (!answered)
        g_main_context_iteration(nullptr, TRUE);
}

// The console's size as QEMU 7.2 announces it: properties, which reach the listener's proxy
// as a signal.
void set_console_size(FuzzedDataProvider &input) {
    qemu_display_console_set_width(process->console.get(), input.ConsumeIntegral<uint16_t>());
    qemu_display_console_set_height(process->console.get(), input.ConsumeIntegral<uint16_t>());
    g_dbus_interface_skeleton_flush(G_DBUS_INTERFACE_SKELETON(process->console.get()));
    sync_display_connection();
}

// A call whose arguments are integers (sd-bus types) and, with bytes, an ay after them.
struct PlainCall {
    const char *interface;
    const char *member;
    const char *integers;
    bool bytes;
};

PlainCall plain_call(Step step) {
    constexpr const char *listener = "org.qemu.Display1.Listener";
    switch (step) {
    case Step::Scanout:
        return {listener, "Scanout", "uuuu", true};
    case Step::Update:
        return {listener, "Update", "iiiiuu", true};
    case Step::UpdateMap:
        return {"org.qemu.Display1.Listener.Unix.Map", "UpdateMap", "iiii", false};
    case Step::UpdateDmabuf:
        return {listener, "UpdateDMABUF", "iiii", false};
    case Step::CursorDefine:
        return {listener, "CursorDefine", "iiii", true};
    case Step::MouseSet:
        return {listener, "MouseSet", "iii", false};
    case Step::Disable:
        return {listener, "Disable", "", false};
    default:
        return {};
    }
}

void run_step(Qemu &qemu, FuzzedDataProvider &input, UniqueFd &last_map) {
    const Step step = input.ConsumeEnum<Step>();
    sd_bus_message *message = nullptr;
    switch (step) {
    case Step::ScanoutMap:
        message = qemu.call("org.qemu.Display1.Listener.Unix.Map", "ScanoutMap");
        last_map = fuzzed_memfd(input);
        sd_bus_message_append(message, "h", last_map.get());
        append_ints(message, input, "uuuuu");
        break;
    case Step::ShrinkMap: // what a hostile QEMU can do to the memfd vmcast maps
        if (last_map.valid() &&
            ftruncate(last_map.get(), input.ConsumeIntegralInRange<uint32_t>(0, kMaxMemfdSize)) < 0)
            abort();
        return;
    case Step::ScanoutDmabuf:
        message = qemu.call("org.qemu.Display1.Listener", "ScanoutDMABUF");
        sd_bus_message_append(message, "h", fuzzed_memfd(input).get());
        append_ints(message, input, "uuuu");
        append_modifier_y0_top(message, input);
        break;
    case Step::ScanoutDmabuf2:
        message = qemu.call("org.qemu.Display1.Listener.Unix.ScanoutDMABUF2", "ScanoutDMABUF2");
        append_dmabuf2(message, input);
        break;
    case Step::ConsoleSize:
        set_console_size(input);
        return;
    default: {
        const PlainCall call = plain_call(step);
        message = qemu.call(call.interface, call.member);
        append_ints(message, input, call.integers);
        if (call.bytes)
            append_bytes(message, input);
    }
    }
    qemu.send(message);
}

} // namespace

extern "C" int LLVMFuzzerInitialize(int *, char ***) {
    g_log_set_writer_func(log_writer, nullptr, nullptr);
    compositor::route_wlroots_log(false);
    setenv("WLR_RENDERER", "pixman", 1); // the renderer of machines without a GPU
    process = new Process;
    std::string error;
    process->compositor = compositor::Compositor::create(nullptr, error);
    if (!process->compositor)
        g_error("no compositor: %s", error.c_str());
    P2pDbus ends = connect_p2p_dbus();
    process->qemu_side = std::move(ends.qemu);
    process->vmcast_side = std::move(ends.vmcast);
    process->console.reset(qemu_display_console_skeleton_new());
    g_signal_connect(process->console.get(), "handle-register-listener",
                     G_CALLBACK(on_register_listener), nullptr);
    if (!g_dbus_interface_skeleton_export(G_DBUS_INTERFACE_SKELETON(process->console.get()),
                                          process->qemu_side.get(), kConsolePath, nullptr))
        g_error("cannot serve the console");
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    FuzzedDataProvider input(data, size);
    set_console_size(input);
    OutputSink sink(*process->compositor, process->rendered);
    {
        qemu::ConsoleListener listener(process->vmcast_side.get(), "", 0, sink, "fuzz.0");
        listener.start();
        while (!process->listener_socket.valid())
            g_main_context_iteration(nullptr, TRUE);
        Qemu qemu(std::move(process->listener_socket));
        UniqueFd last_map;
        while (input.remaining_bytes() > 0)
            run_step(qemu, input, last_map);
    }
    // What the listener and its proxy left to the main loop and GDBus's thread: an input
    // frees all it allocated (libFuzzer checks for leaks after any input that does not).
    sync_display_connection();
    while (g_main_context_iteration(nullptr, FALSE)) {
    }
    // libwayland frees the event sources the output removed when its loop next dispatches.
    wl_event_loop_dispatch(wl_display_get_event_loop(process->compositor->display()), 0);
    return 0;
}
