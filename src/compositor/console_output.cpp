#include "compositor/console_output.h"

#include <cstring>
#include <utility>
#include <vector>

#include "compositor/export_buffers.h"
#include "compositor/memory_buffer.h"
#include "compositor/wlr.h"
#include "frame/copy_stats.h"

namespace vmcast::compositor {
namespace {

// Reads a committed output buffer. With pixman the buffer is shared memory read in place;
// GPU buffers have no CPU pointer, so the renderer reads them back once per frame.
class CommittedBufferReader final : public FrameReader {
  public:
    CommittedBufferReader(wlr_renderer *renderer, wlr_buffer *buffer)
        : renderer_(renderer), buffer_(buffer) {
        void *data = nullptr;
        uint32_t format = 0;
        size_t stride = 0;
        if (wlr_buffer_begin_data_ptr_access(buffer, WLR_BUFFER_DATA_PTR_ACCESS_READ, &data,
                                             &format, &stride)) {
            accessing_ = true;
            if (format == DRM_FORMAT_XRGB8888 || format == DRM_FORMAT_ARGB8888) {
                pixels_ = static_cast<const uint8_t *>(data);
                stride_ = stride;
            }
        }
    }
    ~CommittedBufferReader() override {
        if (accessing_)
            wlr_buffer_end_data_ptr_access(buffer_);
    }

    uint32_t width() const override { return uint32_t(buffer_->width); }
    uint32_t height() const override { return uint32_t(buffer_->height); }

    bool read(const frame::Rect &rect, uint8_t *dst, size_t dst_stride) const override {
        const frame::Rect inside = frame::clip_to_surface(rect, width(), height());
        if (inside != rect)
            return false;
        if (!pixels_ && !read_back())
            return false;
        const size_t row_bytes = size_t(rect.width) * 4;
        for (int32_t row = 0; row < rect.height; row++) {
            const size_t y = size_t(rect.y + row);
            std::memcpy(dst + y * dst_stride + size_t(rect.x) * 4,
                        pixels_ + y * stride_ + size_t(rect.x) * 4, row_bytes);
        }
        return true;
    }

  private:
    bool read_back() const {
        const uint32_t stride = width() * 4;
        read_back_.resize(size_t(stride) * height());
        uint32_t flags = 0;
        if (!wlr_renderer_begin_with_buffer(renderer_, buffer_))
            return false;
        const bool ok = wlr_renderer_read_pixels(renderer_, DRM_FORMAT_XRGB8888, &flags, stride,
                                                 width(), height(), 0, 0, 0, 0, read_back_.data());
        wlr_renderer_end(renderer_);
        if (!ok)
            return false;
        if (flags & WLR_RENDERER_READ_PIXELS_Y_INVERT) {
            std::vector<uint8_t> row(stride);
            for (uint32_t top = 0, bottom = height() - 1; top < bottom; top++, bottom--) {
                std::memcpy(row.data(), &read_back_[size_t(top) * stride], stride);
                std::memcpy(&read_back_[size_t(top) * stride], &read_back_[size_t(bottom) * stride],
                            stride);
                std::memcpy(&read_back_[size_t(bottom) * stride], row.data(), stride);
            }
        }
        pixels_ = read_back_.data();
        stride_ = stride;
        return true;
    }

    wlr_renderer *renderer_;
    wlr_buffer *buffer_;
    bool accessing_ = false;
    mutable const uint8_t *pixels_ = nullptr;
    mutable size_t stride_ = 0;
    mutable std::vector<uint8_t> read_back_;
};

// The headless backend's own frame timer runs at the mode's refresh forever (0.15), even on a
// still screen. A refresh of 1 mHz parks it (a tick every 1000 s); frame_clock_ paces instead.
constexpr int32_t kParkedRefreshMhz = 1;

} // namespace

ConsoleOutput::ConsoleOutput(Compositor &compositor, const std::string &name,
                             const std::string &description, uint32_t width, uint32_t height,
                             int refresh_hz, const frame::Cursor &cursor)
    : compositor_(compositor), dmabuf_imports_(compositor.renderer()), cursor_(cursor),
      width_(width), height_(height),
      // A frame event ends wlroots' "frame pending" state, so the next frame may be committed.
      frame_clock_(refresh_hz, [this] { wlr_output_send_frame(output_); }) {
    if (ExportBufferFactory *factory = compositor.export_buffers())
        export_allocator_.emplace(*factory, *this);
    output_ = wlr_headless_add_output(compositor.backend(), width, height);
    wlr_output_init_render(output_, compositor.allocator(), compositor.renderer());
    wlr_output_set_name(output_, name.c_str());
    wlr_output_set_description(output_, description.c_str());
    wlr_output_set_custom_mode(output_, int32_t(width), int32_t(height), kParkedRefreshMhz);
    wlr_output_commit(output_);
    // wlroots 0.15 would otherwise scan the console buffer out directly on every frame tick,
    // committing 62.5 times a second with no rendered buffer to stream.
    wlr_output_lock_attach_render(output_, true);

    scene_ = wlr_scene_create();
    scene_output_ = wlr_scene_output_create(scene_, output_);

    frame_listener_.connect(&output_->events.frame, [this](void *) { on_frame(); });
    // wlroots asks for a frame once per change of the scene (damage, a new node).
    needs_frame_listener_.connect(&output_->events.needs_frame,
                                  [this](void *) { frame_clock_.frame_wanted(); });
    precommit_listener_.connect(&output_->events.precommit, [this](void *) { on_precommit(); });
    commit_listener_.connect(&output_->events.commit,
                             [this](wlr_output_event_commit *event) { on_commit(event); });
}

ConsoleOutput::~ConsoleOutput() {
    frame_listener_.disconnect();
    needs_frame_listener_.disconnect();
    precommit_listener_.disconnect();
    commit_listener_.disconnect();
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
    wlr_scene_node_set_position(&cursor_node_->node, cursor_.x - cursor_.hot_x,
                                cursor_.y - cursor_.hot_y);
    wlr_scene_node_set_enabled(&cursor_node_->node, cursor_.visible && cursor_drawn_);
}

void ConsoleOutput::request_frame(FrameRequest why) {
    g_debug("output %s: whole frame for %s", output_->name, frame_request_name(why));
    wlr_output_damage_add_whole(scene_output_->damage);
}

void ConsoleOutput::resize_output(uint32_t width, uint32_t height) {
    wlr_output_set_custom_mode(output_, int32_t(width), int32_t(height), kParkedRefreshMhz);
    if (!wlr_output_commit(output_))
        g_warning("output %s: cannot change mode to %ux%u", output_->name, width, height);
    width_ = width;
    height_ = height;
    wlr_output_damage_add_whole(scene_output_->damage);
    if (sink_)
        sink_->size_changed(width, height);
}

bool ConsoleOutput::render_into(const frame::DamageRegion &region, wlr_buffer *target) {
    if (target->width != int(width_) || target->height != int(height_))
        return false;
    wlr_renderer *renderer = compositor_.renderer();
    if (!wlr_renderer_begin_with_buffer(renderer, target))
        return false;
    // What wlr_scene_output_commit does for the output's own buffer, with this buffer's damage.
    frame::DamageRegion damage = region;
    damage.clip_to_surface(width_, height_);
    for (const frame::Rect &rect : damage.rects()) {
        wlr_box box = {rect.x, rect.y, rect.width, rect.height};
        wlr_renderer_scissor(renderer, &box);
        static const float black[4] = {0.0f, 0.0f, 0.0f, 1.0f};
        wlr_renderer_clear(renderer, black);
    }
    wlr_scene_render_output(scene_, output_, 0, 0, damage.native());
    wlr_renderer_scissor(renderer, nullptr);
    // Ending unbinds the buffer, which flushes the GPU's work; the kernel's implicit fence on
    // the DMA-BUF makes a consumer's import wait for it.
    wlr_renderer_end(renderer);
    return true;
}

void ConsoleOutput::damage(const frame::Rect &rect) {
    wlr_box box = {rect.x, rect.y, rect.width, rect.height};
    wlr_output_damage_add_box(scene_output_->damage, &box);
}

void ConsoleOutput::on_frame() {
    if (!wlr_scene_output_commit(scene_output_))
        g_debug("output %s: commit failed", output_->name);
}

void ConsoleOutput::on_precommit() {
    const wlr_output_state &pending = output_->pending;
    if (!(pending.committed & WLR_OUTPUT_STATE_BUFFER))
        return;
    pending_damage_.clear();
    if (pending.committed & WLR_OUTPUT_STATE_DAMAGE) {
        pixman_region32_copy(pending_damage_.native(), &pending.damage);
        pending_damage_.clip_to_surface(width_, height_);
    } else {
        pending_damage_.add({0, 0, int32_t(width_), int32_t(height_)});
    }
}

void ConsoleOutput::after_next_commit(std::function<void()> done) {
    after_commit_.push_back(std::move(done));
}

void ConsoleOutput::on_commit(wlr_output_event_commit *event) {
    if (!(event->committed & WLR_OUTPUT_STATE_BUFFER) || !event->buffer)
        return;
    frame_clock_.frame_committed();
    // Counted as the frame's damage: wlroots may repaint more when a swapchain buffer is older
    // than one frame, which the damage of a fixed region does not change.
    frame::copy_stats().composited_bytes += pending_damage_.area() * 4;
    if (sink_) {
        CommittedBufferReader reader(compositor_.renderer(), event->buffer);
        sink_->frame_ready(reader, pending_damage_);
    }
    pending_damage_.clear();
    for (std::function<void()> &done : std::exchange(after_commit_, {}))
        done();
}

} // namespace vmcast::compositor
