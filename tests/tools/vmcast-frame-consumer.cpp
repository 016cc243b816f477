// vmcast-frame-consumer: a real pw_stream video consumer for integration tests.
//
// It links to one producer node (by node.name through WirePlumber's target.object), prints one
// JSON line per event on stdout (format, every buffer, state changes, links, problems) and can
// dump the latest picture to a file. Everything runs on one pw_main_loop, so no locking is
// needed. The command line and JSON formats are described in README.md next to this file.
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <pipewire/pipewire.h>
#include <spa/param/param.h>
#include <spa/pod/builder.h>

#include "consumer_options.hpp"
#include "consumer_params.hpp"
#include "dmabuf_mapping.hpp"
#include "frame_inspector.hpp"
#include "json_line.hpp"
#include "peer_watch.hpp"
#include "pipewire_raii.hpp"
#include "slow_returns.hpp"

namespace vmcast_tools {
namespace {

uint64_t monotonic_ns() {
    timespec now{};
    clock_gettime(CLOCK_MONOTONIC, &now);
    return uint64_t(now.tv_sec) * 1'000'000'000 + uint64_t(now.tv_nsec);
}

class FrameConsumer {
  public:
    explicit FrameConsumer(Options options) : options_(std::move(options)) {}

    ~FrameConsumer() {
        // Disconnect while still listening, so remove_buffer frees our DMA-BUF mappings, but
        // quietly: nothing may be printed after the summary line.
        quiet_ = true;
        if (stream_) {
            pw_stream_disconnect(stream_.get());
            spa_hook_remove(&stream_listener_);
        }
        stream_.reset();
        peer_watch_.reset();
        if (core_)
            spa_hook_remove(&core_listener_);
    }

    FrameConsumer(const FrameConsumer &) = delete;
    FrameConsumer &operator=(const FrameConsumer &) = delete;

    int run() {
        if (!setup())
            return finish(kExitError);
        pw_main_loop_run(loop_.get());
        return finish(exit_code_.value_or(kExitOk));
    }

  private:
    bool setup() {
        loop_.reset(pw_main_loop_new(nullptr));
        if (!loop_)
            return fail("cannot create main loop");
        pw_loop *loop = pw_main_loop_get_loop(loop_.get());
        pw_loop_add_signal(loop, SIGINT, on_signal, this);
        pw_loop_add_signal(loop, SIGTERM, on_signal, this);

        context_.reset(pw_context_new(loop, nullptr, 0));
        if (!context_)
            return fail(std::string("cannot create context: ") + std::strerror(errno));
        core_.reset(pw_context_connect(context_.get(), nullptr, 0));
        if (!core_)
            return fail(std::string("cannot connect to PipeWire: ") + std::strerror(errno));
        static const pw_core_events core_events = make_core_events();
        pw_core_add_listener(core_.get(), &core_listener_, &core_events, this);
        peer_watch_ = std::make_unique<PeerWatch>(
            core_.get(), [this](const PeerNode &node) { on_node_added(node); },
            [this](const PeerNode &peer) { on_linked(peer); },
            [this](uint32_t node_id) { on_unlinked(node_id); });

        pw_properties *props = pw_properties_new(
            PW_KEY_MEDIA_TYPE, "Video", PW_KEY_MEDIA_CATEGORY, "Capture", PW_KEY_MEDIA_ROLE,
            "Screen", PW_KEY_NODE_NAME, "vmcast-frame-consumer", PW_KEY_TARGET_OBJECT,
            options_.target.c_str(), nullptr);
        stream_.reset(pw_stream_new(core_.get(), "vmcast-frame-consumer", props));
        if (!stream_)
            return fail(std::string("cannot create stream: ") + std::strerror(errno));
        static const pw_stream_events stream_events = make_stream_events();
        pw_stream_add_listener(stream_.get(), &stream_listener_, &stream_events, this);

        if (options_.slow_ms > 0)
            slow_returns_ = std::make_unique<SlowReturns>(loop, options_.slow_ms);
        if (options_.timeout_seconds > 0) {
            spa_source *timer = pw_loop_add_timer(loop, on_timeout, this);
            timespec value{};
            value.tv_sec = static_cast<time_t>(options_.timeout_seconds);
            value.tv_nsec = static_cast<long>(
                (options_.timeout_seconds - static_cast<double>(value.tv_sec)) * 1e9);
            if (value.tv_sec == 0 && value.tv_nsec == 0)
                value.tv_nsec = 1; // a zero timespec would disarm the timer
            pw_loop_update_timer(loop, timer, &value, nullptr, false);
        }

        emit_line(json_event("waiting-for-target").add("target", options_.target));
        return true;
    }

    // Connecting only once the target node exists avoids WirePlumber's answers to a missing
    // target: "no node available" (stream error) or a link to the default Video/Source.
    void on_node_added(const PeerNode &node) {
        if (stream_connected_ || (node.name != options_.target && node.serial != options_.target))
            return;
        stream_connected_ = true;
        connect_stream(node);
    }

    void connect_stream(const PeerNode &node) {
        JsonArray offered;
        for (uint32_t format : options_.formats)
            offered.add(video_format_name(format));
        emit_line(json_event("connecting")
                      .add("target", options_.target)
                      .add("target_id", node.id)
                      .add("formats", offered)
                      .add("dmabuf_first", options_.dmabuf_first)
                      .add("cursor_meta", options_.cursor_meta)
                      .add("hold_buffers", options_.hold_buffers));

        uint8_t pod_buffer[4096];
        spa_pod_builder builder = SPA_POD_BUILDER_INIT(pod_buffer, sizeof(pod_buffer));
        std::vector<const spa_pod *> params;
        std::span<const uint64_t> modifiers;
        if (options_.dmabuf_first)
            modifiers = options_.modifiers;
        build_enum_formats(&builder, options_.formats, modifiers, options_.max_framerate, params);
        const int res = pw_stream_connect(
            stream_.get(), PW_DIRECTION_INPUT, PW_ID_ANY,
            static_cast<pw_stream_flags>(PW_STREAM_FLAG_AUTOCONNECT | PW_STREAM_FLAG_MAP_BUFFERS),
            params.data(), static_cast<uint32_t>(params.size()));
        if (res < 0)
            fail(std::string("cannot connect stream: ") + std::strerror(-res));
    }

    static pw_core_events make_core_events() {
        pw_core_events events{};
        events.version = PW_VERSION_CORE_EVENTS;
        events.error = on_core_error;
        return events;
    }

    static pw_stream_events make_stream_events() {
        pw_stream_events events{};
        events.version = PW_VERSION_STREAM_EVENTS;
        events.state_changed = on_state_changed;
        events.param_changed = on_param_changed;
        events.add_buffer = on_add_buffer;
        events.remove_buffer = on_remove_buffer;
        events.process = on_process;
        return events;
    }

    // Records an error event and stops the loop with exit code 2; returns false for chaining.
    bool fail(const std::string &message) {
        emit_line(json_event("error").add("message", message));
        quit(kExitError);
        return false;
    }

    // The first reason to stop wins: a later SIGTERM does not turn an error into success.
    void quit(int code) {
        if (!exit_code_)
            exit_code_ = code;
        if (loop_)
            pw_main_loop_quit(loop_.get());
    }

    int finish(int code) {
        JsonArray formats;
        for (const std::string &name : negotiated_formats_)
            formats.add(name);
        emit_line(json_event("summary")
                      .add("frames", frames_)
                      .add("pictures", pictures_)
                      .add("bad_buffers", bad_buffers_)
                      .add("held_buffers", held_buffers_)
                      .add("formats", formats)
                      .add("exit_code", code));
        return code;
    }

    static void on_signal(void *data, int signal_number) {
        auto *self = static_cast<FrameConsumer *>(data);
        emit_line(json_event("signal").add("signal", signal_number));
        self->quit(kExitOk);
    }

    static void on_timeout(void *data, uint64_t) {
        auto *self = static_cast<FrameConsumer *>(data);
        const bool had_goal = self->options_.wanted_pictures > 0;
        JsonObject event = json_event("timeout");
        event.add_double("seconds", self->options_.timeout_seconds);
        event.add("frames", self->frames_).add("pictures", self->pictures_);
        if (had_goal)
            event.add("wanted", self->options_.wanted_pictures);
        else
            event.add("wanted", nullptr);
        emit_line(event);
        // Without --frames the timeout is simply the run duration, not a failure.
        self->quit(had_goal ? kExitTimeout : kExitOk);
    }

    static void on_core_error(void *data, uint32_t id, int seq, int res, const char *message) {
        auto *self = static_cast<FrameConsumer *>(data);
        JsonObject event = json_event(id == PW_ID_CORE ? "error" : "core-error");
        event.add("message", message ? message : "").add("id", id).add("seq", seq);
        event.add("res", res);
        emit_line(event);
        // Errors on the core itself (e.g. -EPIPE: the daemon went away) are fatal; errors on
        // other proxies are reported and the stream state decides.
        if (id == PW_ID_CORE)
            self->quit(kExitError);
    }

    static void on_state_changed(void *data, pw_stream_state old_state, pw_stream_state state,
                                 const char *error) {
        auto *self = static_cast<FrameConsumer *>(data);
        if (self->quiet_)
            return;
        JsonObject event = json_event("state");
        event.add("state", pw_stream_state_as_string(state));
        event.add("old", pw_stream_state_as_string(old_state));
        event.add("node_id", pw_stream_get_node_id(self->stream_.get()));
        event.add("error", error);
        emit_line(event);
        if (state == PW_STREAM_STATE_PAUSED || state == PW_STREAM_STATE_STREAMING)
            self->peer_watch_->set_own_node(pw_stream_get_node_id(self->stream_.get()));
        if (state == PW_STREAM_STATE_ERROR) {
            self->fail(std::string("stream error: ") + (error ? error : "unknown"));
        } else if (state == PW_STREAM_STATE_UNCONNECTED &&
                   old_state != PW_STREAM_STATE_UNCONNECTED) {
            self->fail("stream disconnected");
        }
    }

    // target.object may be a node.name or an object.serial; anything else is WirePlumber's
    // fallback to the default source, and frames from it would make a test pass wrongly.
    void on_linked(const PeerNode &peer) {
        if (quiet_)
            return;
        const bool expected = peer.name == options_.target || peer.serial == options_.target;
        emit_line(json_event("link")
                      .add("peer_id", peer.id)
                      .add("peer_name", peer.name)
                      .add("peer_serial", peer.serial)
                      .add("expected", expected));
        if (!expected) {
            wrong_peer_ = true;
            fail("linked to node '" + peer.name + "' instead of target '" + options_.target +
                 "' (WirePlumber fallback)");
        }
    }

    void on_unlinked(uint32_t node_id) {
        if (!quiet_)
            emit_line(json_event("unlink").add("peer_id", node_id));
    }

    static void on_param_changed(void *data, uint32_t id, const spa_pod *param) {
        auto *self = static_cast<FrameConsumer *>(data);
        if (id == SPA_PARAM_Format && !self->quiet_)
            self->handle_format(param);
    }

    void handle_format(const spa_pod *param) {
        if (!param) {
            format_.reset();
            emit_line(json_event("format-cleared"));
            return;
        }
        std::string error;
        format_ = parse_format(param, error);
        if (!format_) {
            fail("unusable Format: " + error);
            return;
        }
        const char *name = video_format_name(format_->spa_format);
        JsonObject event = json_event("format");
        if (name)
            event.add("format", name);
        else
            event.add("format", "Unknown(" + std::to_string(format_->spa_format) + ")");
        event.add("width", format_->width).add("height", format_->height);
        if (format_->modifier)
            event.add("modifier", *format_->modifier);
        else
            event.add("modifier", nullptr);
        auto fraction_json = [](const std::optional<spa_fraction> &fraction) {
            return fraction ? JsonArray().add(fraction->num).add(fraction->denom).str() : "null";
        };
        event.add_raw("max_framerate", fraction_json(format_->max_framerate));
        event.add_raw("framerate", fraction_json(format_->framerate));
        // False while PipeWire leaves a DONT_FIXATE modifier for the producer to fix.
        event.add("fixated", spa_pod_is_fixated(param) == 1);
        emit_line(event);
        if (!name) {
            fail("producer chose a format the consumer did not offer");
            return;
        }
        bool seen = false;
        for (const std::string &known : negotiated_formats_)
            seen = seen || known == name;
        if (!seen)
            negotiated_formats_.emplace_back(name);

        uint8_t pod_buffer[2048];
        spa_pod_builder builder = SPA_POD_BUILDER_INIT(pod_buffer, sizeof(pod_buffer));
        std::vector<const spa_pod *> params;
        build_buffer_params(&builder, *format_, options_.cursor_meta, params);
        pw_stream_update_params(stream_.get(), params.data(), static_cast<uint32_t>(params.size()));
    }

    static void on_add_buffer(void *data, pw_buffer *buffer) {
        (void)data;
        const spa_buffer *spa = buffer->buffer;
        JsonObject event = json_event("add-buffer");
        event.add("n_datas", spa->n_datas);
        if (spa->n_datas > 0) {
            spa_data &first = spa->datas[0];
            event.add("data_type", data_type_name(first.type)).add("maxsize", first.maxsize);
            if (first.type == SPA_DATA_DmaBuf && !first.data) {
                if (auto mapping = DmaBufMapping::map(first))
                    buffer->user_data = mapping.release();
                else // not fatal: frames from this buffer report "data is NULL" as bad buffers
                    emit_line(json_event("warning").add(
                        "message", std::string("cannot mmap DMA-BUF: ") + std::strerror(errno)));
            }
        }
        JsonObject metas;
        for (uint32_t i = 0; i < spa->n_metas; ++i)
            metas.add(meta_type_name(spa->metas[i].type), spa->metas[i].size);
        event.add("metas", metas);
        emit_line(event);
    }

    static void on_remove_buffer(void *data, pw_buffer *buffer) {
        auto *self = static_cast<FrameConsumer *>(data);
        if (self->slow_returns_)
            self->slow_returns_->forget(buffer);
        delete static_cast<DmaBufMapping *>(buffer->user_data);
        buffer->user_data = nullptr;
        if (!self->quiet_)
            emit_line(json_event("remove-buffer"));
    }

    static void on_process(void *data) {
        auto *self = static_cast<FrameConsumer *>(data);
        // Drain everything queued: a driver producer may have queued several frames per cycle.
        // Nothing is read from a wrong peer (see on_linked).
        while (!self->done_ && !self->wrong_peer_ && !self->stopped_reading()) {
            pw_buffer *buffer = pw_stream_dequeue_buffer(self->stream_.get());
            if (!buffer)
                break;
            // Taken before any of the consumer's own work, so a benchmark's send-to-receive
            // latency does not include it.
            const uint64_t received_ns = monotonic_ns();
            self->handle_buffer(*buffer, received_ns);
        }
    }

    bool stopped_reading() const {
        return options_.stop_reading_after && pictures_ >= *options_.stop_reading_after;
    }

    void handle_buffer(pw_buffer &buffer, uint64_t received_ns) {
        const spa_buffer &spa = *buffer.buffer;
        const auto *mapping = static_cast<const DmaBufMapping *>(buffer.user_data);
        const uint8_t *mapped = nullptr;
        if (mapping)
            mapped = static_cast<const uint8_t *>(mapping->address) + spa.datas[0].mapoffset;
        else if (spa.n_datas > 0)
            mapped = static_cast<const uint8_t *>(spa.datas[0].data);

        if (mapping)
            sync_dma_buf(mapping->fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ);
        InspectedBuffer inspected = inspect_buffer(spa, mapped, format_, frames_);
        std::optional<uint32_t> stamp;
        if (inspected.picture && options_.stamp_at)
            stamp = read_stamp(*inspected.picture, options_.stamp_at->x, options_.stamp_at->y);
        // Dump before printing the frame line: a test that saw the line finds the file updated.
        if (inspected.picture && !options_.dump_path.empty()) {
            std::string error;
            const uint64_t seq = inspected.header_seq.value_or(frames_);
            if (!write_frame_dump(options_.dump_path, *inspected.picture,
                                  video_format_name(format_->spa_format), seq, error))
                fail(error);
        }
        if (mapping)
            sync_dma_buf(mapping->fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ);

        if (options_.quiet_frames) {
            emit_line(json_event("frame")
                          .add("index", frames_)
                          .add("seq", inspected.header_seq)
                          .add("t_ns", received_ns)
                          .add("stamp", stamp)
                          .add("picture", inspected.picture.has_value())
                          .add("damage_px", inspected.damage_px));
        } else {
            if (options_.stamp_at)
                inspected.frame_event.add("t_ns", received_ns).add("stamp", stamp);
            emit_line(inspected.frame_event);
        }
        for (const std::string &reason : inspected.problems) {
            JsonObject event = json_event("bad-buffer");
            event.add("index", frames_).add("reason", reason);
            if (inspected.header_seq)
                event.add("seq", *inspected.header_seq);
            else
                event.add("seq", nullptr);
            emit_line(event);
        }
        ++frames_;
        if (inspected.picture)
            ++pictures_;
        if (!inspected.problems.empty())
            ++bad_buffers_;

        if (options_.hold_buffers)
            ++held_buffers_;
        else if (slow_returns_)
            slow_returns_->give_back_later(stream_.get(), &buffer);
        else
            pw_stream_queue_buffer(stream_.get(), &buffer);
        if (stopped_reading())
            emit_line(json_event("stopped-reading").add("pictures", pictures_));

        if (options_.wanted_pictures > 0 && pictures_ >= options_.wanted_pictures) {
            done_ = true;
            quit(kExitOk);
        }
    }

    Options options_;
    MainLoopPtr loop_;
    ContextPtr context_;
    CorePtr core_;
    std::unique_ptr<PeerWatch> peer_watch_;
    StreamPtr stream_;
    std::unique_ptr<SlowReturns> slow_returns_;
    spa_hook core_listener_{};
    spa_hook stream_listener_{};

    std::optional<NegotiatedFormat> format_;
    std::vector<std::string> negotiated_formats_;
    std::optional<int> exit_code_;
    bool done_ = false;
    bool stream_connected_ = false;
    bool quiet_ = false;      // set during teardown
    bool wrong_peer_ = false; // linked to a node other than --target
    uint64_t frames_ = 0;
    uint64_t pictures_ = 0;
    uint64_t bad_buffers_ = 0;
    uint64_t held_buffers_ = 0;
};

} // namespace
} // namespace vmcast_tools

int main(int argc, char **argv) {
    // A test that stops reading must not kill us with SIGPIPE mid-write; writes just fail.
    std::signal(SIGPIPE, SIG_IGN);
    vmcast_tools::PipeWireLibrary library(&argc, &argv);
    vmcast_tools::Options options = vmcast_tools::parse_options(argc, argv);
    vmcast_tools::FrameConsumer consumer(std::move(options));
    return consumer.run();
}
