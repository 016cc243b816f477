#include "compositor/console_output.h"

#include <algorithm>
#include <utility>

#include "compositor/export_buffers.h"
#include "compositor/memory_buffer.h"
#include "compositor/wayland_server.h"
#include "compositor/wlr.h"
#include "frame/copy_stats.h"

namespace vmcast::compositor {
namespace {

// The frame being handed to the sinks, drawn into their buffers on request.
class SceneFrame final : public FrameRenderer {
  public:
    explicit SceneFrame(ConsoleOutput &output) : output_(output) {}
    uint32_t width() const override { return output_.width(); }
    uint32_t height() const override { return output_.height(); }
    bool render(const frame::DamageRegion &region, uint8_t *dst, size_t dst_stride) override {
        return output_.render_into_memory(region, dst, dst_stride);
    }

  private:
    ConsoleOutput &output_;
};

// The headless backend's own frame timer runs at the mode's refresh forever (0.15), even on a
// still screen. A refresh of 1 mHz parks it (a tick every 1000 s); frame_clock_ paces instead.
constexpr int32_t kParkedRefreshMhz = 1;

// How long a screencopy client waits for damage on a still screen before it gets the whole
// picture again. A frame it got can be lost on its way to the app (xdg-desktop-portal-wlr's
// first buffer, queued before PipeWire linked the app, on a loaded machine), and an app that
// joins its node later would wait for the next change: a still VM console would stay black.
constexpr guint kStillScreenRefreshMs = 1000;

} // namespace

ConsoleOutput::ConsoleOutput(Compositor &compositor, const std::string &name,
                             const std::string &description, uint32_t width, uint32_t height,
                             int refresh_hz, const frame::Cursor &cursor)
    : compositor_(compositor), dmabuf_imports_(compositor.renderer()), cursor_(cursor),
      width_(width), height_(height),
      // The clock ticks as wlroots' frame event, which ends its "frame pending" state.
      refresh_mhz_(int32_t(refresh_hz) * 1000),
      frame_clock_(refresh_hz, [this] { wlr_output_send_frame(output_); }) {
    if (ExportBufferFactory *factory = compositor.export_buffers())
        export_allocator_.emplace(*factory, *this);
    output_ = wlr_headless_add_output(compositor.backend(), width, height);
    wlr_output_init_render(output_, compositor.allocator(), compositor.renderer());
    // Named before it joins the layout: clients read the name once, when they bind.
    wlr_output_set_name(output_, name.c_str());
    wlr_output_set_description(output_, description.c_str());
    commit_mode(width, height);
    if (WaylandServer *server = compositor.wayland_server())
        server->add_output(output_);

    scene_ = wlr_scene_create();
    scene_output_ = wlr_scene_output_create(scene_, output_);

    frame_listener_.connect(&output_->events.frame, [this](void *) { on_frame(); });
    // wlroots asks for a frame once per change of the scene (damage, a new node).
    needs_frame_listener_.connect(&output_->events.needs_frame,
                                  [this](void *) { frame_clock_.frame_wanted(); });
    // The new scene output damaged the whole output before anyone listened.
    leave_frames_to_clock();
    frame_clock_.frame_wanted();
}

ConsoleOutput::~ConsoleOutput() {
    still_screen_refresh_.cancel();
    frame_listener_.disconnect();
    needs_frame_listener_.disconnect();
    if (WaylandServer *server = compositor_.wayland_server())
        server->remove_output(output_);
    // Destroying the output also destroys its scene output.
    wlr_output_destroy(output_);
    wlr_scene_node_destroy(&scene_->node);
}

void ConsoleOutput::show_frame(const std::shared_ptr<const frame::CpuFrame> &frame,
                               const frame::PixelSurface::Change &change) {
    if (frame->empty())
        return;
    if (frame->width() != width_ || frame->height() != height_)
        resize_output(frame->width(), frame->height());

    const bool node_matches = console_node_ && shown_frame_ == frame.get() &&
                              console_node_->buffer &&
                              console_node_->buffer->width == int(frame->width()) &&
                              console_node_->buffer->height == int(frame->height());
    if (change.resized || !node_matches) {
        wlr_buffer *buffer = create_frame_buffer(frame);
        show_buffer(buffer);
        shown_frame_ = frame.get();
        wlr_buffer_drop(buffer);
        return; // a new node damages its whole area
    }

    const frame::Rect rect = frame::clip_to_surface(change.damage, width_, height_);
    if (rect.empty())
        return;
    // A GPU texture is a copy of the pixels; pixman reads the frame in place.
    if (!compositor_.renders_on_cpu() && console_node_->texture) {
        const uint8_t *origin = frame->data() + size_t(rect.y) * frame->stride();
        wlr_texture_write_pixels(console_node_->texture, frame->stride(), uint32_t(rect.width),
                                 uint32_t(rect.height), uint32_t(rect.x), 0, uint32_t(rect.x),
                                 uint32_t(rect.y), origin);
    }
    damage(rect);
}

void ConsoleOutput::show_buffer(wlr_buffer *buffer) {
    if (console_node_)
        wlr_scene_node_destroy(&console_node_->node);
    console_node_ = wlr_scene_buffer_create(&scene_->node, buffer);
    shown_frame_ = nullptr;
    if (cursor_node_)
        wlr_scene_node_raise_to_top(&cursor_node_->node);
}

bool ConsoleOutput::show_dmabuf(const std::vector<frame::DmabufPlane> &planes,
                                const frame::DmabufLayout &layout) {
    if (compositor_.renders_on_cpu())
        return false;
    wlr_buffer *buffer = dmabuf_imports_.import(planes, layout);
    if (!buffer)
        return false;
    const frame::Rect &visible = layout.visible;
    if (uint32_t(visible.width) != width_ || uint32_t(visible.height) != height_)
        resize_output(uint32_t(visible.width), uint32_t(visible.height));
    show_buffer(buffer);
    // The source box is in the buffer's own rows; a bottom-up buffer stores the visible part's
    // last row first, so its box starts that far from the buffer's end.
    const int32_t stored_y =
        layout.bottom_up ? int32_t(layout.backing_height) - visible.y - visible.height : visible.y;
    const wlr_fbox source = {double(visible.x), double(stored_y), double(visible.width),
                             double(visible.height)};
    wlr_scene_buffer_set_source_box(console_node_, &source);
    wlr_scene_buffer_set_dest_size(console_node_, visible.width, visible.height);
    if (layout.bottom_up)
        wlr_scene_buffer_set_transform(console_node_, WL_OUTPUT_TRANSFORM_FLIPPED_180);
    return true;
}

void ConsoleOutput::damage_dmabuf(const frame::Rect &rect) {
    // The node shows the picture top row first at the output's origin, so picture and output
    // coordinates agree.
    damage(frame::clip_to_surface(rect, width_, height_));
}

void ConsoleOutput::show_nothing() {
    if (!console_node_)
        return;
    wlr_scene_node_destroy(&console_node_->node);
    console_node_ = nullptr;
    shown_frame_ = nullptr;
}

void ConsoleOutput::cursor_changed(bool image_changed) {
    if (image_changed) {
        if (cursor_node_)
            wlr_scene_node_destroy(&cursor_node_->node);
        wlr_buffer *buffer = create_cursor_buffer(cursor_.width, cursor_.height, cursor_.argb);
        cursor_node_ = wlr_scene_buffer_create(&scene_->node, buffer);
        wlr_buffer_drop(buffer);
    }
    place_cursor();
}

void ConsoleOutput::set_cursor_drawn(bool drawn) {
    cursor_drawn_ = drawn;
    place_cursor();
}

void ConsoleOutput::place_cursor() {
    if (!cursor_node_)
        return;
    // QEMU's MouseSet may say any int: the difference must not overflow, and a cursor far off
    // the output (16384 at the most) stays far off without overflowing wlroots' sums either.
    const auto corner = [](int32_t position, int32_t hot_spot) {
        constexpr int64_t kFarOff = int64_t{1} << 24;
        return int(std::clamp(int64_t{position} - hot_spot, -kFarOff, kFarOff));
    };
    wlr_scene_node_set_position(&cursor_node_->node, corner(cursor_.x, cursor_.hot_x),
                                corner(cursor_.y, cursor_.hot_y));
    wlr_scene_node_set_enabled(&cursor_node_->node, cursor_.visible && cursor_drawn_);
}

void ConsoleOutput::request_frame(FrameRequest why) {
    g_debug("output %s: whole frame for %s", output_->name, frame_request_name(why));
    wlr_output_damage_add_whole(scene_output_->damage);
}

void ConsoleOutput::commit_mode(uint32_t width, uint32_t height) {
    wlr_output_set_custom_mode(output_, int32_t(width), int32_t(height), kParkedRefreshMhz);
    if (!wlr_output_commit(output_))
        g_warning("output %s: cannot change mode to %ux%u", output_->name, width, height);
    // The headless backend sets its timer only on a mode commit, so the mode clients see can
    // say the rate frames really come at (wlr-randr and xdg-desktop-portal-wlr read it) while
    // the timer stays parked.
    wlr_output_update_custom_mode(output_, int32_t(width), int32_t(height), refresh_mhz_);
}

void ConsoleOutput::resize_output(uint32_t width, uint32_t height) {
    commit_mode(width, height);
    if (WaylandServer *server = compositor_.wayland_server())
        server->output_changed();
    width_ = width;
    height_ = height;
    wlr_output_damage_add_whole(scene_output_->damage);
    for (FrameSink *sink : sinks_)
        sink->size_changed(width, height);
}

bool ConsoleOutput::render_into(const frame::DamageRegion &region, wlr_buffer *target) {
    if (target->width != int(width_) || target->height != int(height_))
        return false;
    import_new_textures();
    wlr_renderer *renderer = compositor_.renderer();
    if (!wlr_renderer_begin_with_buffer(renderer, target))
        return false;
    draw_scene(region);
    // Ending unbinds the buffer, which flushes the GPU's work; the kernel's implicit fence on
    // the DMA-BUF makes a consumer's import wait for it.
    wlr_renderer_end(renderer);
    return true;
}

bool ConsoleOutput::render_into_memory(const frame::DamageRegion &region, uint8_t *dst,
                                       size_t stride) {
    if (compositor_.renders_on_cpu()) {
        wlr_buffer *target = create_target_buffer(dst, width_, height_, stride);
        const bool drawn = render_into(region, target);
        wlr_buffer_drop(target);
        return drawn;
    }
    // GLES2 draws only into GPU buffers: the output's own back buffer, never committed, from
    // which each rectangle is read back into the memory.
    import_new_textures();
    if (!wlr_output_attach_render(output_, nullptr))
        return false;
    wlr_renderer *renderer = compositor_.renderer();
    wlr_renderer_begin(renderer, width_, height_);
    frame::DamageRegion damage = region;
    damage.clip_to_surface(width_, height_);
    draw_scene(damage);
    bool read = true;
    for (const frame::Rect &rect : damage.rects()) {
        uint32_t flags = 0;
        // Rendering into a buffer stores its top row first (wlroots 0.15 sets no Y_INVERT for
        // it); a renderer that did otherwise would need the rectangle mirrored.
        read =
            read &&
            wlr_renderer_read_pixels(renderer, DRM_FORMAT_XRGB8888, &flags, uint32_t(stride),
                                     uint32_t(rect.width), uint32_t(rect.height), uint32_t(rect.x),
                                     uint32_t(rect.y), uint32_t(rect.x), uint32_t(rect.y), dst) &&
            !(flags & WLR_RENDERER_READ_PIXELS_Y_INVERT);
        frame::copy_stats().exported_bytes += rect.area() * 4;
    }
    wlr_renderer_end(renderer);
    wlr_output_rollback(output_);
    return read;
}

void ConsoleOutput::import_new_textures() {
    // wlroots 0.15.1 imports the texture of a new scene buffer in wlr_scene_output_commit,
    // which vmcast does not call (it renders into consumers' buffers), and importing while
    // rendering asserts. The same steps, before rendering. A node whose buffer cannot be
    // imported goes, or rendering would try again and assert: black until the next picture.
    wlr_renderer *renderer = compositor_.renderer();
    wlr_scene_buffer *node = nullptr;
    wlr_scene_buffer *next = nullptr;
    wl_list_for_each_safe(node, next, &scene_->pending_buffers, pending_link) {
        wl_list_remove(&node->pending_link);
        wl_list_init(&node->pending_link);
        if (!node->texture)
            node->texture = wlr_texture_from_buffer(renderer, node->buffer);
        if (node->texture)
            continue;
        g_warning("output %s: the %s cannot be shown (%s cannot read its buffer)", output_->name,
                  node == cursor_node_ ? "pointer" : "picture", compositor_.renderer_name());
        if (node == cursor_node_)
            cursor_node_ = nullptr;
        if (node == console_node_) {
            console_node_ = nullptr;
            shown_frame_ = nullptr;
        }
        wlr_scene_node_destroy(&node->node);
    }
}

void ConsoleOutput::draw_scene(frame::DamageRegion damage) {
    wlr_renderer *renderer = compositor_.renderer();
    // What wlr_scene_output_commit does for the output's own buffer, with this buffer's damage.
    damage.clip_to_surface(width_, height_);
    for (const frame::Rect &rect : damage.rects()) {
        wlr_box box = {rect.x, rect.y, rect.width, rect.height};
        wlr_renderer_scissor(renderer, &box);
        static const float black[4] = {0.0f, 0.0f, 0.0f, 1.0f};
        wlr_renderer_clear(renderer, black);
    }
    wlr_scene_render_output(scene_, output_, 0, 0, damage.native());
    wlr_renderer_scissor(renderer, nullptr);
    frame::copy_stats().composited_bytes += damage.area() * 4;
}

void ConsoleOutput::damage(const frame::Rect &rect) {
    wlr_box box = {rect.x, rect.y, rect.width, rect.height};
    wlr_output_damage_add_box(scene_output_->damage, &box);
}

void ConsoleOutput::leave_frames_to_clock() {
    // Frames are drawn straight into the consumers' buffers (render_into_memory, ExportDmabuf),
    // so the output commits no buffer of its own: that would cost one more copy of every
    // change. What a commit does for wlroots' frame scheduling is done here instead: the next
    // damage asks for a frame again (needs_frame), and frame events come from frame_clock_
    // alone (a pending frame stops wlroots' own idle frame).
    output_->needs_frame = false;
    output_->frame_pending = true;
}

void ConsoleOutput::on_frame() {
    pixman_region32_t *changed = &scene_output_->damage->current;
    frame::DamageRegion damage;
    pixman_region32_copy(damage.native(), changed);
    damage.clip_to_surface(width_, height_);
    pixman_region32_clear(changed);
    // A client copying with damage hears only of damage that commits carry, so changes made
    // while no client waited go with the next commit for one (xdg-desktop-portal-wlr asks
    // for its next frame only after PipeWire took the last one).
    if (compositor_.wayland_server()) {
        uncommitted_damage_.add(damage);
        // With no client for hours, scattered changes would make every union dearer: their
        // bounding box tells a client as much.
        if (pixman_region32_n_rects(uncommitted_damage_.native()) > kMaxUncommittedRects)
            uncommitted_damage_ = frame::DamageRegion(uncommitted_damage_.extents());
    }
    // A screencopy client waiting for a frame holds an attach-render lock until it has one.
    // wlroots asked for this frame when it came, damage or not: grim finishes on a still
    // screen, and a client waiting for damage gets an empty commit that reaches no sink.
    if (output_->attach_render_locks > 0) {
        commit_for_screencopy(uncommitted_damage_);
        uncommitted_damage_.clear();
        refresh_waiting_clients_later();
    }
    leave_frames_to_clock();
    if (damage.empty())
        return;
    frame_clock_.frame_sent();
    SceneFrame frame(*this);
    for (FrameSink *sink : sinks_)
        sink->frame_ready(frame, damage);
    for (std::function<void()> &done : std::exchange(after_frame_, {}))
        done();
}

void ConsoleOutput::refresh_waiting_clients_later() {
    if (output_->attach_render_locks == 0 || still_screen_refresh_.pending())
        return;
    still_screen_refresh_.schedule_in(kStillScreenRefreshMs, [this] {
        if (output_->attach_render_locks == 0)
            return;
        g_debug("output %s: whole picture for the screencopy clients waiting on a still screen",
                output_->name);
        uncommitted_damage_ =
            frame::DamageRegion(frame::Rect{0, 0, int32_t(width_), int32_t(height_)});
        frame_clock_.frame_wanted();
    });
}

void ConsoleOutput::commit_for_screencopy(frame::DamageRegion damage) {
    import_new_textures();
    if (!wlr_output_attach_render(output_, nullptr)) {
        g_warning("output %s: no buffer to copy the screen into for a Wayland client",
                  output_->name);
        return;
    }
    // Clients that asked for the pointer (overlay_cursor) hold a software cursor lock. The
    // node's state is switched for this drawing alone: wlr_scene_node_set_enabled would damage
    // the output and send the streams a frame that did not change for them.
    const bool drawn_for_streams = cursor_node_ && cursor_node_->node.state.enabled;
    if (cursor_node_)
        cursor_node_->node.state.enabled = cursor_.visible && output_->software_cursor_locks > 0;
    wlr_renderer *renderer = compositor_.renderer();
    wlr_renderer_begin(renderer, width_, height_);
    // The whole picture: the swapchain's buffers hold older frames.
    draw_scene(frame::DamageRegion(frame::Rect{0, 0, int32_t(width_), int32_t(height_)}));
    wlr_renderer_end(renderer);
    if (cursor_node_)
        cursor_node_->node.state.enabled = drawn_for_streams;
    // Clients that copy with damage hear of this damage alone (within the output: some of it
    // may be from before a resize).
    damage.clip_to_surface(width_, height_);
    wlr_output_set_damage(output_, damage.native());
    if (!wlr_output_commit(output_))
        g_warning("output %s: cannot commit a frame for a Wayland client", output_->name);
}

void ConsoleOutput::after_next_frame(std::function<void()> done) {
    after_frame_.push_back(std::move(done));
}

} // namespace vmcast::compositor
