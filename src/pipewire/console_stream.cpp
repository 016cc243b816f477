#include "pipewire/console_stream.h"

#include <cerrno>
#include <algorithm>
#include <cstring>
#include <utility>
#include <vector>

#include <pipewire/pipewire.h>
#include <spa/buffer/meta.h>
#include <spa/param/format-utils.h>
#include <spa/param/video/format-utils.h>

#include "frame/copy_stats.h"
#include "pipewire/stream_params.h"
#include "pipewire/workarounds.h"

namespace vmcast::pipewire {

ConsoleStream::ConsoleStream(PipeWireContext &pipewire, const StreamIdentity &identity,
                             uint32_t width, uint32_t height, uint32_t max_fps,
                             CursorMode cursor_mode, const frame::Cursor &cursor,
                             FrameSource &frames)
    : pipewire_(pipewire), identity_(identity), width_(width), height_(height), max_fps_(max_fps),
      dmabufs_(frames.export_allocator()), allocates_buffers_(dmabufs_.available()),
      cursor_mode_(cursor_mode), cursor_(cursor), frames_(frames) {
    if (cursor.width > 0)
        cursor_meta_.image_changed(cursor);
    pw_properties *props = pw_properties_new(
        PW_KEY_MEDIA_CLASS, "Video/Source", PW_KEY_MEDIA_TYPE, "Video", PW_KEY_MEDIA_CATEGORY,
        "Source", PW_KEY_MEDIA_ROLE, "Screen", PW_KEY_NODE_NAME, identity.node_name.c_str(),
        PW_KEY_NODE_DESCRIPTION, identity.description.c_str(), PW_KEY_MEDIA_NAME,
        identity.description.c_str(), "vmcast.vm.name", identity.vm_name.c_str(), "vmcast.vm.uuid",
        identity.vm_uuid.c_str(), nullptr);
    pw_properties_setf(props, "vmcast.console.index", "%u", identity.console_index);
    stream_ = pw_stream_new(pipewire.core(), identity.node_name.c_str(), props);

    static const pw_stream_events events = {
        .version = PW_VERSION_STREAM_EVENTS,
        .destroy = nullptr,
        .state_changed =
            [](void *data, pw_stream_state old_state, pw_stream_state state, const char *error) {
                static_cast<ConsoleStream *>(data)->on_state_changed(old_state, state, error);
            },
        .control_info = nullptr,
        .io_changed = nullptr,
        .param_changed =
            [](void *data, uint32_t id, const spa_pod *param) {
                static_cast<ConsoleStream *>(data)->on_param_changed(id, param);
            },
        .add_buffer =
            [](void *data, pw_buffer *buffer) {
                static_cast<ConsoleStream *>(data)->on_add_buffer(buffer);
            },
        .remove_buffer =
            [](void *data, pw_buffer *buffer) {
                static_cast<ConsoleStream *>(data)->on_remove_buffer(buffer);
            },
        .process = nullptr,
        .drained = nullptr,
        .command = nullptr,
        .trigger_done = nullptr,
    };
    pw_stream_add_listener(stream_, &stream_listener_, &events, this);
    connect();
}

void ConsoleStream::connect() {
    log_dmabuf_offer();
    uint8_t pod_memory[kFormatPodBytes];
    spa_pod_builder builder = SPA_POD_BUILDER_INIT(pod_memory, sizeof(pod_memory));
    std::vector<const spa_pod *> formats = formats_to_offer(builder);
    if (pw_stream_connect(stream_, PW_DIRECTION_OUTPUT, PW_ID_ANY,
                          workaround::connect_flags(allocates_buffers_), formats.data(),
                          uint32_t(formats.size())) < 0)
        g_warning("%s: cannot connect the PipeWire stream", identity_.node_name.c_str());
}

ConsoleStream::~ConsoleStream() {
    unwatch_node();
    spa_hook_remove(&stream_listener_);
    pw_stream_destroy(stream_);
}

void ConsoleStream::unwatch_node() {
    if (watched_node_id_ == SPA_ID_INVALID)
        return;
    pipewire_.links().unwatch(watched_node_id_);
    pipewire_.param_caches().unwatch(watched_node_id_);
    watched_node_id_ = SPA_ID_INVALID;
}

void ConsoleStream::size_changed(uint32_t width, uint32_t height) {
    if (width == width_ && height == height_) {
        if (settle_resize_.pending())
            g_debug("%s: back to %ux%u before the new size settled; consumers keep their format",
                    identity_.node_name.c_str(), width, height);
        settle_resize_.cancel();
        unsettled_since_us_.reset();
        return;
    }
    const int64_t now = g_get_monotonic_time();
    if (!unsettled_since_us_)
        unsettled_since_us_ = now;
    if (watched_node_id_ == SPA_ID_INVALID || !pipewire_.links().has_links(watched_node_id_) ||
        now - *unsettled_since_us_ >= int64_t(workaround::kResizeSettleLimitMs) * 1000) {
        renegotiate_size(width, height);
        return;
    }
    // Frames of the new size wait meanwhile: consumers keep the last picture of the old one.
    settle_resize_.schedule_in(workaround::kResizeSettleMs,
                               [this, width, height] { renegotiate_size(width, height); });
}

void ConsoleStream::renegotiate_size(uint32_t width, uint32_t height) {
    settle_resize_.cancel();
    unsettled_since_us_.reset();
    width_ = width;
    height_ = height;
    forget_format();
    fixated_dmabuf_.reset();
    log_dmabuf_offer();
    small_buffers_.new_size();
    g_info("%s: renegotiating for %ux%u", identity_.node_name.c_str(), width, height);
    announce_formats();
}

void ConsoleStream::announce_formats() {
    uint8_t pod_memory[kFormatPodBytes];
    spa_pod_builder builder = SPA_POD_BUILDER_INIT(pod_memory, sizeof(pod_memory));
    std::vector<const spa_pod *> formats = formats_to_offer(builder);
    if (state_ == PW_STREAM_STATE_STREAMING)
        workaround::update_formats_paused(stream_, formats); // workaround 1
    else
        pw_stream_update_params(stream_, formats.data(), uint32_t(formats.size()));
}

std::vector<const spa_pod *> ConsoleStream::formats_to_offer(spa_pod_builder &builder) {
    const std::vector<const spa_pod *> all =
        build_enum_formats(builder, width_, height_, max_fps_, dmabufs_, fixated_dmabuf_);
    std::vector<ConsumerFormats> consumers;
    if (watched_node_id_ != SPA_ID_INVALID)
        consumers = pipewire_.links().consumer_formats(watched_node_id_);
    std::vector<const spa_pod *> chosen = offers_.choose(all, consumers);
    if (chosen.size() < all.size()) {
        g_info("%s: offering the %zu of %zu formats that every consumer takes%s",
               identity_.node_name.c_str(), chosen.size(), all.size(),
               offers_dmabufs(all) && !offers_dmabufs(chosen)
                   ? " (withdrawing DMA-BUFs while a consumer that takes none is linked)"
                   : "");
    }
    return chosen;
}

void ConsoleStream::review_offers_soon() {
    // Coalesces the changes of one main loop pass (a consumer leaving and another joining).
    if (!offer_review_.pending())
        offer_review_.schedule([this] { review_offers(); });
}

void ConsoleStream::review_offers() {
    if (watched_node_id_ == SPA_ID_INVALID)
        return;
    if (!pipewire_.links().has_links(watched_node_id_) &&
        workaround::suspend_unlinked_node(pipewire_.param_caches(), watched_node_id_))
        g_debug("%s: no consumer left; node %u suspended", identity_.node_name.c_str(),
                watched_node_id_);
    uint8_t pod_memory[kFormatPodBytes];
    spa_pod_builder builder = SPA_POD_BUILDER_INIT(pod_memory, sizeof(pod_memory));
    const std::vector<const spa_pod *> all =
        build_enum_formats(builder, width_, height_, max_fps_, dmabufs_, fixated_dmabuf_);
    if (!offers_.must_choose_again(all, pipewire_.links().consumer_formats(watched_node_id_)))
        return;
    g_info("%s: renegotiating for the consumers now linked", identity_.node_name.c_str());
    negotiated_.reset();
    announce_formats();
}

void ConsoleStream::forget_format() {
    negotiated_.reset();
    offers_.set_running_format(nullptr);
    // Frames wait for the new format, not for buffers.
    waiting_for_buffer_since_us_.reset();
}

void ConsoleStream::on_state_changed(pw_stream_state, pw_stream_state state, const char *error) {
    state_ = state;
    if (state != PW_STREAM_STATE_STREAMING)
        waiting_for_buffer_since_us_.reset(); // a paused stream sends nothing, so waits for none
    if (state == PW_STREAM_STATE_ERROR) {
        g_warning("%s: stream error: %s", identity_.node_name.c_str(), error ? error : "unknown");
        return;
    }
    g_debug("%s: stream %s", identity_.node_name.c_str(), pw_stream_state_as_string(state));
    const uint32_t node_id = pw_stream_get_node_id(stream_);
    if (state == PW_STREAM_STATE_PAUSED && node_id != SPA_ID_INVALID &&
        node_id != watched_node_id_) {
        g_info("%s: PipeWire node %u", identity_.node_name.c_str(), node_id);
        unwatch_node();
        watched_node_id_ = node_id;
        pipewire_.param_caches().watch(node_id);
        // A consumer joining a stream that already runs gets no state change here; the
        // running consumers lose nothing by one whole frame.
        pipewire_.links().watch(
            node_id, [this] { request_frame_for_new_consumer(); },
            [this] { review_offers_soon(); });
    }
    request_frame_if_streaming(FrameRequest::StreamRunning);
}

void ConsoleStream::request_frame_if_streaming(FrameRequest why) {
    if (state_ == PW_STREAM_STATE_STREAMING)
        frames_.request_frame(why);
}

void ConsoleStream::request_frame_for_new_consumer() {
    // The consumer's node runs, so the picture goes out now (and again: workaround 5).
    request_frame_if_streaming(FrameRequest::NewConsumer);
    new_consumer_repeats_.start();
}

void ConsoleStream::on_param_changed(uint32_t id, const spa_pod *param) {
    if (id != SPA_PARAM_Format)
        return;
    if (!param) {
        // Suspended, or about to be negotiated again: no format until the next one.
        forget_format();
        return;
    }
    spa_video_info_raw info{};
    if (!parse_stream_format(param, info)) {
        g_warning("%s: consumer chose a format vmcast cannot parse or does not offer",
                  identity_.node_name.c_str());
        return;
    }
    if (info.size.width != width_ || info.size.height != height_) {
        // An answer to formats of a size we no longer show; the new offer is on its way.
        negotiated_.reset();
        return;
    }
    std::optional<DmabufLayout> dmabuf;
    if (info.flags & SPA_VIDEO_FLAG_MODIFIER) {
        negotiated_.reset();
        if (std::optional<std::vector<uint64_t>> candidates = modifiers_to_fixate(param)) {
            fixate_modifier(info.format, *candidates);
            return;
        }
        dmabuf = layout_for(info.format, uint64_t(info.modifier));
        if (!dmabuf)
            return;
        g_info("%s: streaming %s %ux%u as DMA-BUFs (modifier 0x%016llx)",
               identity_.node_name.c_str(), format_name(info.format), width_, height_,
               static_cast<unsigned long long>(info.modifier));
    } else {
        g_info("%s: streaming %s %ux%u", identity_.node_name.c_str(), format_name(info.format),
               width_, height_);
    }
    negotiated_ = Negotiated{info.format, dmabuf};
    offers_.set_running_format(param);
    review_offers_soon();

    report_frame_interval(info.max_framerate);
    announce_buffers();
    // The new buffers hold nothing yet; the next render fills them whole.
    frames_.request_frame(FrameRequest::NewBuffers);
}

void ConsoleStream::report_frame_interval(spa_fraction max_framerate) {
    // vmcast offers maxFramerate from 1/1 to --max-fps; a consumer may agree on less.
    int64_t interval_us = G_USEC_PER_SEC / max_fps_;
    if (max_framerate.num > 0 && max_framerate.denom > 0)
        interval_us = std::max(interval_us,
                               int64_t(G_USEC_PER_SEC) * max_framerate.denom / max_framerate.num);
    frames_.set_frame_interval_us(interval_us);
}

void ConsoleStream::announce_buffers() {
    uint8_t pod_memory[1024];
    spa_pod_builder builder = SPA_POD_BUILDER_INIT(pod_memory, sizeof(pod_memory));
    const bool offer_cursor_meta =
        cursor_mode_ == CursorMode::Auto || cursor_mode_ == CursorMode::Metadata;
    BufferKind kind;
    if (negotiated_ && negotiated_->dmabuf)
        kind = {.dmabuf = true, .planes = negotiated_->dmabuf->planes};
    std::vector<const spa_pod *> params =
        build_buffer_params(builder, width_, height_, kind, offer_cursor_meta);
    pw_stream_update_params(stream_, params.data(), uint32_t(params.size()));
}

void ConsoleStream::schedule_renegotiation() {
    renegotiation_.schedule([this] {
        negotiated_.reset();
        announce_formats();
    });
}

void ConsoleStream::on_add_buffer(pw_buffer *buffer) {
    const spa_data &data = buffer->buffer->datas[0];
    auto slot = std::make_unique<StreamBuffer>();
    slot->width = width_;
    slot->height = height_;
    slot->size = size_t(width_) * 4 * height_;
    slot->stale.add({0, 0, int32_t(width_), int32_t(height_)});
    if (allocates_buffers_) {
        allocate_memory(buffer, *slot);
    } else if (data.data && data.maxsize >= slot->size) {
        slot->pixels = static_cast<uint8_t *>(data.data);
    } else if (!renegotiation_.pending() &&
               small_buffers_.renegotiate(identity_.node_name, data.maxsize, width_, height_,
                                          slot->size)) {
        schedule_renegotiation(); // allocated from the previous size's parameters (workaround 4)
    }
    buffer->user_data = slot.get();
    slots_.push_back(std::move(slot));
    // All buffers of one negotiation carry the same metadata.
    const bool has_cursor_meta = spa_buffer_find_meta(buffer->buffer, SPA_META_Cursor) != nullptr;
    if (slots_.size() == 1 || has_cursor_meta != cursor_as_meta_)
        update_cursor_drawing(has_cursor_meta);
}

void ConsoleStream::on_remove_buffer(pw_buffer *buffer) {
    const auto *slot = static_cast<StreamBuffer *>(buffer->user_data);
    std::erase_if(slots_, [slot](const auto &owned) { return owned.get() == slot; });
    buffer->user_data = nullptr;
}

void ConsoleStream::update_cursor_drawing(bool buffers_have_cursor_meta) {
    const bool as_meta = cursor_mode_ == CursorMode::Metadata ||
                         (cursor_mode_ == CursorMode::Auto && buffers_have_cursor_meta);
    const bool draw = cursor_mode_ == CursorMode::Embedded ||
                      (cursor_mode_ == CursorMode::Auto && !buffers_have_cursor_meta);
    cursor_as_meta_ = as_meta;
    frames_.set_cursor_drawn(draw);
}

} // namespace vmcast::pipewire
