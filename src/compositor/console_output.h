// One QEMU console as one headless wlroots output: a scene holding the console's picture and
// QEMU's cursor above it. Each commit of the output hands the rendered frame and its damage
// to whoever streams it.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "common/frame_reader.h"
#include "compositor/compositor.h"
#include "compositor/dmabuf_import.h"
#include "compositor/frame_clock.h"
#include "compositor/wl_listener.h"
#include "frame/damage.h"
#include "frame/dmabuf_frame.h"
#include "frame/cpu_frame.h"
#include "frame/pixel_surface.h"

struct wlr_output;
struct wlr_scene;
struct wlr_scene_output;
struct wlr_scene_buffer;
struct wlr_output_event_commit;
struct wlr_buffer;

namespace vmcast::compositor {

class ConsoleOutput {
  public:
    using FrameCallback = std::function<void(const FrameReader &, const frame::DamageRegion &)>;
    using SizeCallback = std::function<void(uint32_t width, uint32_t height)>;

    // name: the output's name (e.g. "vmcast.web1.0"); description: what a person reads.
    ConsoleOutput(Compositor &compositor, const std::string &name, const std::string &description,
                  uint32_t width, uint32_t height, int refresh_hz);
    ConsoleOutput(const ConsoleOutput &) = delete;
    ConsoleOutput &operator=(const ConsoleOutput &) = delete;
    ~ConsoleOutput();

    // Called after every committed frame, with the pixels and what changed since the last.
    void set_frame_callback(FrameCallback callback) { frame_callback_ = std::move(callback); }
    // Called when the output changes size to follow the console.
    void set_size_callback(SizeCallback callback) { size_callback_ = std::move(callback); }

    // The console's picture changed (change.damage) or was replaced (change.resized, or a
    // different frame object).
    void show_frame(const std::shared_ptr<const frame::CpuFrame> &frame,
                    const frame::PixelSurface::Change &change);
    // Shows a DMA-BUF through the GPU: false when this renderer cannot import it, and the
    // caller reads it on the CPU instead. Later changes come through damage_dmabuf().
    bool show_dmabuf(const std::vector<frame::DmabufPlane> &planes,
                     const frame::DmabufLayout &layout);
    // rect: changed pixels of the DMA-BUF shown, in picture coordinates (top row first).
    void damage_dmabuf(const frame::Rect &rect);
    // A validated cursor image: width x height native-endian ARGB32 words.
    void define_cursor(uint32_t width, uint32_t height, int32_t hot_x, int32_t hot_y,
                       std::span<const uint8_t> argb);
    void move_cursor(int32_t x, int32_t y, bool visible);
    // Whether the pointer is drawn into the frames (not when consumers get it as metadata).
    void set_cursor_drawn(bool drawn);
    // The shortest time between two frames, from the next one on.
    void set_frame_interval_us(int64_t interval_us) { frame_clock_.set_interval_us(interval_us); }
    // The console's display is off: show black until the next picture.
    void show_nothing();
    // Renders and commits the whole output again soon, even if nothing changed (a consumer
    // joined, or its buffers were renegotiated).
    void request_full_frame();
    // Runs done after the next commit of a rendered frame.
    void after_next_commit(std::function<void()> done);

    uint32_t width() const { return width_; }
    uint32_t height() const { return height_; }

    // Renders region of the current scene into target, a buffer of the output's size.
    bool render_into(const frame::DamageRegion &region, wlr_buffer *target);

  private:
    void resize_output(uint32_t width, uint32_t height);
    // Replaces the console's node with one showing buffer.
    void show_buffer(wlr_buffer *buffer);
    void damage(const frame::Rect &rect);
    void place_cursor();
    void on_frame();
    void on_precommit();
    void on_commit(wlr_output_event_commit *event);

    Compositor &compositor_;
    wlr_output *output_ = nullptr;
    wlr_scene *scene_ = nullptr;
    wlr_scene_output *scene_output_ = nullptr;
    wlr_scene_buffer *console_node_ = nullptr;
    const frame::CpuFrame *shown_frame_ = nullptr; // what console_node_ shows, if in memory
    DmabufImports dmabuf_imports_;
    wlr_scene_buffer *cursor_node_ = nullptr;
    uint32_t width_;
    uint32_t height_;
    FrameClock frame_clock_;

    struct Cursor {
        int32_t x = 0, y = 0, hot_x = 0, hot_y = 0;
        bool visible = false;
        bool drawn = true;
    } cursor_;

    frame::DamageRegion pending_damage_;
    FrameCallback frame_callback_;
    std::vector<std::function<void()>> after_commit_;
    SizeCallback size_callback_;
    WlListener<void> frame_listener_;
    WlListener<void> precommit_listener_;
    WlListener<wlr_output_event_commit> commit_listener_;
};

} // namespace vmcast::compositor
