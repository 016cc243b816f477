#include "pipewire/camera_stream.h"

#include <algorithm>

#include <pipewire/pipewire.h>
#include <spa/buffer/meta.h>
#include <spa/param/format-utils.h>
#include <spa/param/video/format-utils.h>

#include "frame/copy_stats.h"
#include "pipewire/stream_params.h"

namespace vmcast::pipewire {
namespace {

// Two EnumFormats, or the Buffers parameter and its metadata.
constexpr size_t kParamPodBytes = 1024;

frame::Rect whole(uint32_t width, uint32_t height) {
    return {0, 0, int32_t(width), int32_t(height)};
}

frame::Rect whole(frame::Size size) {
    return whole(size.width, size.height);
}

} // namespace

CameraStream::Picture::Picture(frame::Size console, frame::Size camera)
    : size(console), pixels(size_t(console.width) * 4 * console.height),
      unrendered(whole(console)) {
    if (camera != console)
        letterboxed.emplace(Letterboxed{frame::LetterboxedFrame(console, camera)});
}

CameraStream::CameraStream(PipeWireContext &pipewire, const StreamIdentity &screen,
                           frame::Size console, uint32_t fps, std::optional<frame::Size> fixed_size,
                           FrameSource &frames)
    : pipewire_(pipewire), node_name_(camera_node_name(screen)), console_(console),
      fixed_size_(fixed_size), size_(fixed_size.value_or(console)), fps_(fps), frames_(frames) {
    // media.class and media.role are what WirePlumber's access-portal.lua and the Camera
    // portal look for; browsers list only nodes with a description.
    pw_properties *props = pw_properties_new(
        PW_KEY_MEDIA_CLASS, "Video/Source", PW_KEY_MEDIA_TYPE, "Video", PW_KEY_MEDIA_CATEGORY,
        "Capture", PW_KEY_MEDIA_ROLE, "Camera", PW_KEY_NODE_NAME, node_name_.c_str(),
        PW_KEY_NODE_DESCRIPTION, screen.description.c_str(), PW_KEY_MEDIA_NAME,
        screen.description.c_str(), "vmcast.vm.name", screen.vm_name.c_str(), "vmcast.vm.uuid",
        screen.vm_uuid.c_str(), "vmcast.node.kind", "camera", nullptr);
    pw_properties_setf(props, "vmcast.console.index", "%u", screen.console_index);
    stream_ = pw_stream_new(pipewire.core(), node_name_.c_str(), props);

    static const pw_stream_events events = {
        .version = PW_VERSION_STREAM_EVENTS,
        .destroy = nullptr,
        .state_changed =
            [](void *data, pw_stream_state, pw_stream_state state, const char *error) {
                static_cast<CameraStream *>(data)->on_state_changed(state, error);
            },
        .control_info = nullptr,
        .io_changed = nullptr,
        .param_changed =
            [](void *data, uint32_t id, const spa_pod *param) {
                static_cast<CameraStream *>(data)->on_param_changed(id, param);
            },
        .add_buffer =
            [](void *data, pw_buffer *buffer) {
                static_cast<CameraStream *>(data)->on_add_buffer(buffer);
            },
        .remove_buffer =
            [](void *data, pw_buffer *buffer) {
                static_cast<CameraStream *>(data)->on_remove_buffer(buffer);
            },
        .process = nullptr,
        .drained = nullptr,
        .command = nullptr,
        .trigger_done = nullptr,
    };
    pw_stream_add_listener(stream_, &stream_listener_, &events, this);

    uint8_t pod_memory[kParamPodBytes];
    spa_pod_builder builder = SPA_POD_BUILDER_INIT(pod_memory, sizeof(pod_memory));
    std::vector<const spa_pod *> formats =
        build_camera_formats(builder, size_.width, size_.height, fps_);
    // Shared memory that PipeWire allocates (workaround 2); vmcast drives, as a camera does.
    if (pw_stream_connect(stream_, PW_DIRECTION_OUTPUT, PW_ID_ANY, workaround::connect_flags(false),
                          formats.data(), uint32_t(formats.size())) < 0)
        g_warning("%s: cannot connect the PipeWire stream", node_name_.c_str());
}

CameraStream::~CameraStream() {
    if (watched_node_id_ != SPA_ID_INVALID)
        pipewire_.links().unwatch(watched_node_id_);
    spa_hook_remove(&stream_listener_);
    pw_stream_destroy(stream_);
}

void CameraStream::size_changed(uint32_t width, uint32_t height) {
    const frame::Size console{width, height};
    if (console == console_)
        return;
    console_ = console;
    // The kept picture is of the old size, also when the camera keeps its own size.
    renew_picture();
    if (fixed_size_ || consumers_linked()) {
        g_info("%s: the console is now %ux%u, shown letterboxed in the camera's %ux%u",
               node_name_.c_str(), width, height, size_.width, size_.height);
        return;
    }
    follow_console_size();
}

bool CameraStream::consumers_linked() const {
    return watched_node_id_ != SPA_ID_INVALID && pipewire_.links().has_links(watched_node_id_);
}

void CameraStream::follow_console_size() {
    if (fixed_size_ || size_ == console_ || consumers_linked())
        return;
    size_ = console_;
    negotiated_.reset();
    small_buffers_.new_size();
    renew_picture();
    g_info("%s: renegotiating for %ux%u", node_name_.c_str(), size_.width, size_.height);
    announce_formats();
}

void CameraStream::renew_picture() {
    if (!picture_)
        return;
    picture_.emplace(console_, size_);
    for (const auto &slot : slots_)
        slot->stale.add(whole(slot->width, slot->height));
    // A new picture holds nothing until the next frame: the current one, on a still screen too.
    frames_.request_frame(FrameRequest::StreamRunning);
}

void CameraStream::announce_formats() {
    uint8_t pod_memory[kParamPodBytes];
    spa_pod_builder builder = SPA_POD_BUILDER_INIT(pod_memory, sizeof(pod_memory));
    std::vector<const spa_pod *> formats =
        build_camera_formats(builder, size_.width, size_.height, fps_);
    if (state_ == PW_STREAM_STATE_STREAMING)
        workaround::update_formats_paused(stream_, formats); // workaround 1
    else
        pw_stream_update_params(stream_, formats.data(), uint32_t(formats.size()));
}

void CameraStream::on_state_changed(pw_stream_state state, const char *error) {
    state_ = state;
    if (state == PW_STREAM_STATE_ERROR)
        g_warning("%s: stream error: %s", node_name_.c_str(), error ? error : "unknown");
    else
        g_debug("%s: stream %s", node_name_.c_str(), pw_stream_state_as_string(state));
    const uint32_t node_id = pw_stream_get_node_id(stream_);
    if (node_id != SPA_ID_INVALID && node_id != watched_node_id_) {
        if (watched_node_id_ != SPA_ID_INVALID)
            pipewire_.links().unwatch(watched_node_id_);
        watched_node_id_ = node_id;
        // The size kept for the consumers that left is the console's again for the next one.
        pipewire_.links().watch(node_id, {}, {}, [this] { follow_console_size(); });
    }
    if (state == PW_STREAM_STATE_STREAMING)
        start_sending();
    else
        stop_sending();
}

void CameraStream::start_sending() {
    if (picture_)
        return;
    picture_.emplace(console_, size_);
    // The picture kept nothing while no consumer streamed, so neither did the buffers.
    for (const auto &slot : slots_)
        slot->stale.add(whole(slot->width, slot->height));
    frames_.request_frame(FrameRequest::StreamRunning);
    cadence_.start(G_USEC_PER_SEC / fps_, [this] { send_frame(); });
}

void CameraStream::stop_sending() {
    cadence_.stop();
    picture_.reset();
}

void CameraStream::frame_ready(FrameRenderer &frame, const frame::DamageRegion &damage) {
    if (!picture_ || frame.width() != picture_->size.width ||
        frame.height() != picture_->size.height)
        return;
    frame::DamageRegion region = damage;
    region.add(picture_->unrendered);
    region.clip_to_surface(picture_->size.width, picture_->size.height);
    if (region.empty())
        return;
    // Drawn now: the renderer is valid only during this call, and the ticks come later.
    if (!frame.render(region, picture_->pixels.data(), picture_->stride())) {
        g_debug("%s: the frame could not be drawn; trying with the next one", node_name_.c_str());
        picture_->unrendered = region;
        return;
    }
    picture_->unrendered.clear();
    if (picture_->letterboxed) {
        picture_->letterboxed->current = false;
        return;
    }
    for (const auto &slot : slots_) {
        slot->stale.add(region);
        slot->stale.clip_to_surface(slot->width, slot->height);
    }
}

void CameraStream::send_frame() {
    // Nothing until the consumers agreed on this size and the picture was drawn whole once.
    if (!negotiated_ || !picture_ || !picture_->complete())
        return;
    const uint8_t *pixels = picture_->pixels.data();
    if (picture_->letterboxed) {
        Letterboxed &letterboxed = *picture_->letterboxed;
        if (!letterboxed.current) {
            letterboxed.frame.draw(picture_->pixels.data(), picture_->stride());
            letterboxed.current = true;
            frame::copy_stats().camera_bytes += letterboxed.frame.fitted().area() * 4;
            for (const auto &slot : slots_) {
                slot->stale.add(letterboxed.frame.fitted());
                slot->stale.clip_to_surface(slot->width, slot->height);
            }
        }
        pixels = letterboxed.frame.pixels();
    }
    const size_t stride = size_t(size_.width) * 4;
    // With every buffer at the consumers this tick goes by: the next one tries again.
    pw_buffer *buffer = dequeue_unread_buffer(stream_, slots_.size());
    if (!buffer)
        return;
    auto *slot = static_cast<StreamBuffer *>(buffer->user_data);
    const bool usable =
        slot && slot->pixels && slot->width == size_.width && slot->height == size_.height;
    if (usable) {
        // The picture and the buffers are tightly packed alike.
        for (const frame::Rect &rect : slot->stale.rects()) {
            copy_in_consumer_format(pixels, stride, slot->pixels, stride, rect, *negotiated_);
            frame::copy_stats().camera_bytes += rect.area() * 4;
        }
        slot->stale.clear();
    }
    if (slot)
        slot->set_chunks(*buffer->buffer, usable);
    // Each buffer holds the whole picture; consumers that read damage redraw all of it.
    write_frame_metadata(*buffer->buffer, usable ? 0 : SPA_META_HEADER_FLAG_CORRUPTED, sequence_++,
                         size_.width, size_.height, frame::DamageRegion(whole(size_)));
    pw_stream_queue_buffer(stream_, buffer);
    frame::copy_stats().camera_buffers_queued++;
    pw_stream_trigger_process(stream_);
}

void CameraStream::on_param_changed(uint32_t id, const spa_pod *param) {
    if (id != SPA_PARAM_Format)
        return;
    negotiated_.reset();
    if (!param)
        return; // suspended, or about to be negotiated again
    spa_video_info_raw info{};
    if (!parse_stream_format(param, info) ||
        std::ranges::find(kCameraFormats, info.format) == std::end(kCameraFormats)) {
        g_warning("%s: consumer chose a format vmcast does not offer", node_name_.c_str());
        return;
    }
    if (info.size.width != size_.width || info.size.height != size_.height)
        return; // an answer to formats of a size no longer shown; the new offer is on its way
    g_info("%s: streaming %s %ux%u at %u/1", node_name_.c_str(), format_name(info.format),
           size_.width, size_.height, fps_);
    negotiated_ = info.format;
    announce_buffers();
}

void CameraStream::announce_buffers() {
    uint8_t pod_memory[kParamPodBytes];
    spa_pod_builder builder = SPA_POD_BUILDER_INIT(pod_memory, sizeof(pod_memory));
    std::vector<const spa_pod *> params =
        build_buffer_params(builder, size_.width, size_.height, BufferKind{}, false);
    pw_stream_update_params(stream_, params.data(), uint32_t(params.size()));
}

void CameraStream::on_add_buffer(pw_buffer *buffer) {
    const spa_data &data = buffer->buffer->datas[0];
    auto slot = std::make_unique<StreamBuffer>();
    slot->width = size_.width;
    slot->height = size_.height;
    slot->size = size_t(size_.width) * 4 * size_.height;
    slot->stale.add(whole(size_));
    if (data.data && data.maxsize >= slot->size)
        slot->pixels = static_cast<uint8_t *>(data.data);
    else if (!renegotiation_.pending() &&
             small_buffers_.renegotiate(node_name_, data.maxsize, size_.width, size_.height,
                                        slot->size))
        renegotiation_.schedule([this] { announce_formats(); }); // workaround 4
    buffer->user_data = slot.get();
    slots_.push_back(std::move(slot));
}

void CameraStream::on_remove_buffer(pw_buffer *buffer) {
    const auto *slot = static_cast<StreamBuffer *>(buffer->user_data);
    std::erase_if(slots_, [slot](const auto &owned) { return owned.get() == slot; });
    buffer->user_data = nullptr;
}

} // namespace vmcast::pipewire
