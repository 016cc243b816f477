// The listener's private connection to QEMU, served with sd-bus on the GLib main loop. QEMU
// sends a console's pixels over it (Scanout, Update: megabytes a frame); sd-bus reads and
// answers each message on the main loop itself, where GDBus read on its worker thread, copied
// each message body once more and woke the main loop for every message and QEMU's worker for
// every reply (bench/README.md, "D-Bus").
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include <gio/gunixfdlist.h>

#include "common/glib_ptr.h"
#include "common/unique_fd.h"

typedef struct sd_bus sd_bus;
typedef struct sd_bus_message sd_bus_message;
typedef struct sd_bus_vtable sd_bus_vtable;

namespace vmcast::qemu {

// One method call from QEMU, answered once: at once, or later (an UpdateDMABUF after its frame
// is rendered). A call dropped unanswered is answered with success.
class ListenerCall {
  public:
    explicit ListenerCall(sd_bus_message *call); // takes a reference
    ListenerCall(ListenerCall &&other) noexcept;
    ListenerCall &operator=(ListenerCall &&) = delete;
    ListenerCall(const ListenerCall &) = delete;
    ListenerCall &operator=(const ListenerCall &) = delete;
    ~ListenerCall();

    void succeed();
    // The answer of a method that returns bytes (ay): AudioInListener.Read.
    void succeed_with_bytes(std::span<const uint8_t> bytes);
    // org.qemu.Display1.Error.Invalid with the reason.
    void reject(const std::string &reason);

  private:
    sd_bus_message *call_;
};

// What QEMU may call on the listener; the arguments are QEMU's, unchecked.
class ListenerMethods {
  public:
    virtual ~ListenerMethods() = default;
    virtual void scanout(ListenerCall call, uint32_t width, uint32_t height, uint32_t stride,
                         uint32_t format, std::span<const uint8_t> data) = 0;
    virtual void update(ListenerCall call, int32_t x, int32_t y, int32_t width, int32_t height,
                        uint32_t stride, uint32_t format, std::span<const uint8_t> data) = 0;
    virtual void scanout_dmabuf(ListenerCall call, UniqueFd fd, uint32_t width, uint32_t height,
                                uint32_t stride, uint32_t fourcc, uint64_t modifier,
                                bool y0_top) = 0;
    virtual void update_dmabuf(ListenerCall call, int32_t x, int32_t y, int32_t width,
                               int32_t height) = 0;
    virtual void disable(ListenerCall call) = 0;
    virtual void mouse_set(ListenerCall call, int32_t x, int32_t y, bool on) = 0;
    virtual void cursor_define(ListenerCall call, int32_t width, int32_t height, int32_t hot_x,
                               int32_t hot_y, std::span<const uint8_t> data) = 0;
    // Listener.Unix.Map (QEMU 9.2+).
    virtual void scanout_map(ListenerCall call, UniqueFd fd, uint32_t offset, uint32_t width,
                             uint32_t height, uint32_t stride, uint32_t format) = 0;
    virtual void update_map(ListenerCall call, int32_t x, int32_t y, int32_t width,
                            int32_t height) = 0;
    // Listener.Unix.ScanoutDMABUF2 (QEMU 10.1+); the vectors may differ in length from
    // plane_count, which the listener checks.
    struct Dmabuf2 {
        std::vector<UniqueFd> fds;
        uint32_t x, y, width, height;
        std::vector<uint32_t> offsets;
        std::vector<uint32_t> strides;
        uint32_t plane_count, fourcc, backing_width, backing_height;
        uint64_t modifier;
        bool y0_top;
    };
    virtual void scanout_dmabuf2(ListenerCall call, Dmabuf2 buffer) = 0;
    // QEMU closed the connection (it exited, or the console went away).
    virtual void connection_closed() = 0;
};

// One interface of an object the connection serves; userdata goes to the vtable's handlers.
struct ServedInterface {
    const char *path;
    const char *name;
    const sd_bus_vtable *vtable;
    void *userdata;
};

class ListenerBus {
  public:
    // Serves the listener object on our end of the socket pair whose other end goes to QEMU
    // with RegisterListener: authenticates as the client (QEMU is the server), asynchronously
    // on the main loop, with the object in place before QEMU can look. nullptr and a reason in
    // error when sd-bus refuses the socket.
    static std::unique_ptr<ListenerBus> serve(UniqueFd our_end, ListenerMethods &methods,
                                              std::string &error);
    // The same for any listener QEMU registers with a socket (the audio listener): serves
    // interfaces, and calls closed once when QEMU closes the connection.
    static std::unique_ptr<ListenerBus> serve(UniqueFd our_end,
                                              std::span<const ServedInterface> interfaces,
                                              std::function<void()> closed, std::string &error);
    // Makes the socket pair for a Register*Listener call and serves our end as the above do:
    // qemu_end gets the fd list that passes QEMU its end (handle 0). nullptr and a reason in
    // error when it cannot.
    static std::unique_ptr<ListenerBus>
    serve_new_pair(ListenerMethods &methods, GObjectPtr<GUnixFDList> &qemu_end, std::string &error);
    static std::unique_ptr<ListenerBus> serve_new_pair(std::span<const ServedInterface> interfaces,
                                                       std::function<void()> closed,
                                                       GObjectPtr<GUnixFDList> &qemu_end,
                                                       std::string &error);
    ListenerBus(const ListenerBus &) = delete;
    ListenerBus &operator=(const ListenerBus &) = delete;
    ~ListenerBus();

  private:
    // Our end of a new socket pair, QEMU's in qemu_end; false with a reason.
    static bool new_pair(UniqueFd &our_end, GObjectPtr<GUnixFDList> &qemu_end, std::string &error);
    explicit ListenerBus(std::function<void()> closed) : closed_callback_(std::move(closed)) {}
    // Runs sd-bus until it has nothing to do; reports a closed connection once.
    void process();

    std::function<void()> closed_callback_;
    sd_bus *bus_ = nullptr;
    GSourcePtr source_;
    bool closed_ = false;
    // Lets process() see that a method it called destroyed this bus.
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);

    friend struct ListenerBusSource;
};

} // namespace vmcast::qemu
