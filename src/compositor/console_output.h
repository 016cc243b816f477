// One QEMU console as one headless wlroots output: a scene holding the console's picture and
// QEMU's cursor above it. It is the FrameSource of the console's streams: each frame the frame
// clock lets out goes to every FrameSink (the screen stream, and the camera stream if any) with
// its damage, and each draws what it needs of it into its own buffers.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/frame_renderer.h"
#include "common/deferred_call.h"
#include "common/frame_source.h"
#include "compositor/compositor.h"
#include "compositor/dmabuf_import.h"
#include "compositor/export_buffers.h"
#include "compositor/frame_clock.h"
#include "compositor/wl_listener.h"
#include "frame/cpu_frame.h"
#include "frame/cursor.h"
#include "frame/damage.h"
#include "frame/dmabuf_frame.h"
#include "frame/pixel_surface.h"

struct wlr_output;
struct wlr_scene;
struct wlr_scene_output;
struct wlr_scene_buffer;
struct wlr_buffer;

namespace vmcast::compositor {

class ConsoleOutput final : public FrameSource {
  public:
    // name: the output's name (e.g. "vmcast.web1.0"); description: what a person reads.
    // cursor: the console's pointer, read whenever cursor_changed() says it changed.
    ConsoleOutput(Compositor &compositor, const std::string &name, const std::string &description,
                  uint32_t width, uint32_t height, int refresh_hz, const frame::Cursor &cursor);
    ConsoleOutput(const ConsoleOutput &) = delete;
    ConsoleOutput &operator=(const ConsoleOutput &) = delete;
    ~ConsoleOutput() override;

    // Where the frames and new sizes go, in the order added, until removed.
    void add_sink(FrameSink &sink) { sinks_.push_back(&sink); }
    void remove_sink(FrameSink &sink) { std::erase(sinks_, &sink); }

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
    // The pointer moved, or (image_changed) has a new image.
    void cursor_changed(bool image_changed);
    // The console's display is off: show black until the next picture.
    void show_nothing();
    // Runs done once the next frame has been handed to the sinks (and drawn into their buffers).
    void after_next_frame(std::function<void()> done);

    // FrameSource
    void request_frame(FrameRequest why) override;
    void set_cursor_drawn(bool drawn) override;
    void set_frame_interval_us(int64_t interval_us) override {
        frame_clock_.set_interval_us(interval_us);
    }
    ExportDmabufAllocator *export_allocator() override {
        return export_allocator_ ? &*export_allocator_ : nullptr;
    }

    uint32_t width() const { return width_; }
    uint32_t height() const { return height_; }

    // Renders region of the current scene into target, a buffer of the output's size.
    bool render_into(const frame::DamageRegion &region, wlr_buffer *target);
    // Renders region of the current scene into memory as B,G,R,X pixels (FrameRenderer).
    bool render_into_memory(const frame::DamageRegion &region, uint8_t *dst, size_t stride);

  private:
    // A mode of this size with the frame timer parked; clients see refresh_mhz_.
    void commit_mode(uint32_t width, uint32_t height);
    void resize_output(uint32_t width, uint32_t height);
    // Commits the scene for the screencopy clients waiting, with damage as what changed since
    // the last such commit.
    void commit_for_screencopy(frame::DamageRegion damage);
    // Replaces the console's node with one showing buffer.
    void show_buffer(wlr_buffer *buffer);
    void damage(const frame::Rect &rect);
    void place_cursor();
    // Draws the scene over region (black where it has nothing) into the bound buffer.
    void draw_scene(frame::DamageRegion region);
    void import_new_textures();
    void leave_frames_to_clock();
    void on_frame();
    // A screencopy client still waits for damage after a commit: the whole picture goes to it
    // after a while of still screen.
    void refresh_waiting_clients_later();

    Compositor &compositor_;
    wlr_output *output_ = nullptr;
    wlr_scene *scene_ = nullptr;
    wlr_scene_output *scene_output_ = nullptr;
    wlr_scene_buffer *console_node_ = nullptr;
    const frame::CpuFrame *shown_frame_ = nullptr; // what console_node_ shows, if in memory
    DmabufImports dmabuf_imports_;
    wlr_scene_buffer *cursor_node_ = nullptr;
    const frame::Cursor &cursor_;
    bool cursor_drawn_ = true;
    uint32_t width_;
    uint32_t height_;
    const int32_t refresh_mhz_; // what clients are told: the rate frames go out at, at most
    FrameClock frame_clock_;
    std::optional<OutputExportAllocator> export_allocator_;

    // What changed since the last commit for screencopy clients (with --wayland only).
    frame::DamageRegion uncommitted_damage_;
    static constexpr int kMaxUncommittedRects = 64;
    DeferredCall still_screen_refresh_;
    std::vector<FrameSink *> sinks_;
    std::vector<std::function<void()>> after_frame_;
    WlListener<void> frame_listener_;
    WlListener<void> needs_frame_listener_;
};

} // namespace vmcast::compositor
