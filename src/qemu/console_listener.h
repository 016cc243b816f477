// vmcast's display listener for one QEMU console. It registers over a private socket pair in
// the order every QEMU accepts, serves org.qemu.Display1.Listener there (ListenerBus),
// validates every message, keeps the console's picture, and reports changes to a DisplaySink.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include <gio/gio.h>

#include "common/glib_ptr.h"
#include "frame/pixel_surface.h"
#include "qemu/display_sink.h"
#include "qemu/listener_bus.h"
#include "frame/dmabuf_frame.h"
#include "frame/mapped_frame.h"

typedef struct _QemuDisplayConsole QemuDisplayConsole;

namespace vmcast::qemu {

class ConsoleListener final : private ListenerMethods {
  public:
    // bus_name is QEMU's name on the bus, or empty on a peer-to-peer connection to QEMU.
    // log_name names this console in log lines, e.g. "vmcast.web1.0".
    ConsoleListener(GDBusConnection *bus, const std::string &bus_name, uint32_t console_index,
                    DisplaySink &sink, std::string log_name);
    ConsoleListener(const ConsoleListener &) = delete;
    ConsoleListener &operator=(const ConsoleListener &) = delete;
    ~ConsoleListener();

    // Connects to the console and registers the listener, all asynchronously: a failure is
    // one warning and the sink's listener_closed().
    void start();

    // The console's current picture as vmcast's own copy (a snapshot of QEMU's shared memory
    // when it uses that path).
    std::shared_ptr<const frame::PixelSurface> picture();

  private:
    bool register_listener(std::string &error);
    static void on_console_ready(GObject *source, GAsyncResult *result, gpointer self);
    static void on_registered(GObject *source, GAsyncResult *result, gpointer self);
    static void on_console_size_changed(GObject *, GParamSpec *, gpointer self);

    // ListenerMethods: QEMU's calls on the listener connection.
    void scanout(ListenerCall call, uint32_t width, uint32_t height, uint32_t stride,
                 uint32_t format, std::span<const uint8_t> data) override;
    void update(ListenerCall call, int32_t x, int32_t y, int32_t width, int32_t height,
                uint32_t stride, uint32_t format, std::span<const uint8_t> data) override;
    void scanout_dmabuf(ListenerCall call, UniqueFd fd, uint32_t width, uint32_t height,
                        uint32_t stride, uint32_t fourcc, uint64_t modifier, bool y0_top) override;
    void update_dmabuf(ListenerCall call, int32_t x, int32_t y, int32_t width,
                       int32_t height) override;
    void disable(ListenerCall call) override;
    void mouse_set(ListenerCall call, int32_t x, int32_t y, bool on) override;
    void cursor_define(ListenerCall call, int32_t width, int32_t height, int32_t hot_x,
                       int32_t hot_y, std::span<const uint8_t> data) override;
    void scanout_map(ListenerCall call, UniqueFd fd, uint32_t offset, uint32_t width,
                     uint32_t height, uint32_t stride, uint32_t format) override;
    void update_map(ListenerCall call, int32_t x, int32_t y, int32_t width,
                    int32_t height) override;
    void scanout_dmabuf2(ListenerCall call, Dmabuf2 buffer) override;
    void connection_closed() override;

    // Holds an UpdateDMABUF answer until its frame is rendered (QEMU holds the guest's GL
    // work until then), or kUpdateAnswerLimitMs at most.
    void answer_after_render(ListenerCall call);
    void answer_pending_updates();
    // Answers with org.qemu.Display1.Error.Invalid and logs one warning line.
    void reject(ListenerCall &call, const char *method, const std::string &reason);
    // Takes the console's announced size when an update reaches past the picture and fits
    // that size; true when the picture was resized.
    bool follow_console_size(const frame::Rect &update, frame::PixelSurface::Change &change);
    // Maps a DMA-BUF and shows it; false after answering the invocation with the reason.
    bool show_dmabuf(ListenerCall &call, const char *method, std::vector<frame::DmabufPlane> planes,
                     const frame::DmabufLayout &layout);
    // Where the console's picture comes from now. Only show() switches it.
    struct CopiedPixels {}; // surface_, from Scanout and Update (or nothing yet)
    struct SharedMemory {   // QEMU's memfd (Listener.Unix.Map, QEMU 9.2+)
        std::shared_ptr<frame::MappedFrame> map;
    };
    struct DmabufReadOnCpu { // QEMU's DMA-BUF (gl=on), copied into surface_
        std::unique_ptr<frame::DmabufFrame> dmabuf;
    };
    struct DmabufOnGpu { // QEMU's DMA-BUF, imported by the compositor through EGL
        frame::Rect visible;
    };
    struct TiledPlaceholder {}; // a tiled DMA-BUF this renderer cannot read: surface_ says so
    using Source =
        std::variant<CopiedPixels, SharedMemory, DmabufReadOnCpu, DmabufOnGpu, TiledPlaceholder>;
    void show(Source source) { source_ = std::move(source); }
    // Leaves QEMU's shared memory for surface_: the picture is copied first, so updates that
    // follow apply on top of it.
    void keep_shared_memory_picture();
    // Shows the shared memory in place when the compositor can read its format, else a copy.
    void show_map(const std::shared_ptr<frame::MappedFrame> &map, const frame::Rect &rect,
                  bool resized);

    GDBusConnection *bus_;
    std::string bus_name_;
    uint32_t console_index_;
    DisplaySink &sink_;
    std::string log_name_;
    // vmcast's own copy of the picture.
    std::shared_ptr<frame::PixelSurface> surface_ = std::make_shared<frame::PixelSurface>();
    Source source_;
    // Tiled DMA-BUFs were warned about since the last one that could be shown.
    bool warned_about_tiling_ = false;

    GObjectPtr<GCancellable> cancellable_{g_cancellable_new()};
    GObjectPtr<QemuDisplayConsole> console_;
    SignalConnection width_notify_;
    SignalConnection height_notify_;

    static constexpr guint kUpdateAnswerLimitMs = 100;
    std::vector<ListenerCall> pending_update_answers_;
    GSourcePtr update_answer_limit_;
    // Lets a render callback that outlives this listener see that it is gone.
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
    // Last: it goes first, so no call of QEMU's reaches a listener half gone.
    std::unique_ptr<ListenerBus> connection_;
};

} // namespace vmcast::qemu
