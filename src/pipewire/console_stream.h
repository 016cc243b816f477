// One console exported as a PipeWire video node. The stream drives itself: it queues a
// buffer only when the composited screen changed, and copies into each buffer only what
// changed since that buffer was last filled.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <pipewire/stream.h>
#include <spa/param/video/raw.h>
#include <spa/pod/builder.h>
#include <spa/utils/hook.h>

#include "common/frame_source.h"
#include "common/glib_ptr.h"
#include "common/deferred_call.h"
#include "frame/damage.h"
#include "pipewire/consumer_offers.h"
#include "pipewire/cursor_meta.h"
#include "pipewire/dmabuf_offer.h"
#include "pipewire/pipewire_context.h"
#include "pipewire/stream_buffer.h"
#include "pipewire/stream_identity.h"
#include "pipewire/workarounds.h"

namespace vmcast::pipewire {

class ConsoleStream final : public FrameSink {
  public:
    // frames: the compositor output whose frames the stream sends (and renders into DMA-BUFs
    // for consumers that take them). cursor is read for every buffer that carries the pointer
    // as metadata.
    ConsoleStream(PipeWireContext &pipewire, const StreamIdentity &identity, uint32_t width,
                  uint32_t height, uint32_t max_fps, CursorMode cursor_mode,
                  const frame::Cursor &cursor, FrameSource &frames);
    ConsoleStream(const ConsoleStream &) = delete;
    ConsoleStream &operator=(const ConsoleStream &) = delete;
    ~ConsoleStream() override;

    // The pointer moved or (image_changed) changed shape: consumers that take it as metadata
    // get a buffer with no picture (size 0, chunk flag CORRUPTED) and the cursor.
    void cursor_changed(bool image_changed);

    // FrameSink. A new size is offered once the console has kept it for
    // workaround::kResizeSettleMs, at once while no consumer is linked.
    void frame_ready(FrameRenderer &frame, const frame::DamageRegion &damage) override;
    void size_changed(uint32_t width, uint32_t height) override;

    const std::string &node_name() const { return identity_.node_name; }
    bool streaming() const { return state_ == PW_STREAM_STATE_STREAMING; }

  private:
    void connect();
    void unwatch_node();
    // No format agreed any more, nor running (suspended, or a new size).
    void forget_format();
    void announce_formats();
    // This size's formats, less those a linked consumer cannot take.
    std::vector<const spa_pod *> formats_to_offer(spa_pod_builder &builder);
    // After the consumers or the running format changed: offers again if OfferSelection says so.
    void review_offers_soon();
    void review_offers();
    void announce_buffers();
    void report_frame_interval(spa_fraction max_framerate);
    void schedule_renegotiation();
    // Offers formats of this size now.
    void renegotiate_size(uint32_t width, uint32_t height);
    // A buffer no consumer is reading, or nullptr when every buffer is with them.
    pw_buffer *dequeue_free_buffer();
    // Every buffer is with the consumers: the changes wait in the buffers' stale regions and go
    // out with a retry, unless the consumers have kept every buffer for too long.
    void wait_for_buffer();
    // The consumers have kept every buffer for kStallLimitUs while one of them runs: takes the
    // buffers back by renegotiating, which gives each link a new set. False when no consumer
    // runs (a paused consumer may keep its buffers).
    bool take_buffers_back();
    void schedule_retry();
    void request_frame_if_streaming(FrameRequest why);
    void request_frame_for_new_consumer();
    void fill_buffer(pw_buffer *buffer, FrameRenderer &frame, const frame::DamageRegion &damage);
    void fill_metadata(spa_buffer &buffer, const frame::DamageRegion &damage, bool picture);
    void update_cursor_drawing(bool buffers_have_cursor_meta);
    void on_state_changed(pw_stream_state old_state, pw_stream_state state, const char *error);
    void on_param_changed(uint32_t id, const spa_pod *param);
    void log_dmabuf_offer() const;
    // A Format whose modifier PipeWire left open: test-allocates the candidates and announces
    // the one that allocated as a fixed format ahead of the others.
    void fixate_modifier(spa_video_format format, const std::vector<uint64_t> &candidates);
    // The layout of a fixed modifier a consumer agreed to; nullopt when it was not offered or
    // does not allocate (then the stream renegotiates without it).
    std::optional<DmabufLayout> layout_for(spa_video_format format, uint64_t modifier);
    // After a modifier failed to allocate: offers the formats again without it.
    void renegotiate_without(spa_video_format format, uint64_t modifier);
    void allocate_memory(pw_buffer *buffer, StreamBuffer &slot);
    void on_add_buffer(pw_buffer *buffer);
    void on_remove_buffer(pw_buffer *buffer);

    PipeWireContext &pipewire_;
    StreamIdentity identity_;
    uint32_t watched_node_id_ = SPA_ID_INVALID; // whose new consumers get a whole picture,
                                                // and whose parameters are kept cached
    uint32_t width_;
    uint32_t height_;
    uint32_t max_fps_;
    pw_stream *stream_ = nullptr;
    spa_hook stream_listener_{};
    pw_stream_state state_ = PW_STREAM_STATE_UNCONNECTED;
    // The format the consumers agreed on for the current size; frames wait until there is one.
    struct Negotiated {
        spa_video_format format;
        std::optional<DmabufLayout> dmabuf; // the buffers are DMA-BUFs of this layout
    };
    std::optional<Negotiated> negotiated_;
    DmabufOffer dmabufs_;
    OfferSelection offers_;
    DeferredCall offer_review_;
    // With DMA-BUFs on offer vmcast allocates every buffer (PipeWire cannot make DMA-BUFs);
    // otherwise PipeWire allocates and maps the shared memory.
    bool allocates_buffers_;
    std::optional<DmabufLayout> fixated_dmabuf_; // offered first, as a fixed format
    uint64_t sequence_ = 0;
    CursorMode cursor_mode_;
    const frame::Cursor &cursor_;
    CursorMeta cursor_meta_;
    bool cursor_as_meta_ = false; // the buffers carry SPA_META_Cursor and the frames no pointer
    FrameSource &frames_;
    // One per pw_buffer (its user_data). Owned here, not by PipeWire's remove_buffer: a stream
    // whose daemon went away is destroyed without one.
    std::vector<std::unique_ptr<StreamBuffer>> slots_;
    DeferredCall renegotiation_;
    // Room for every EnumFormat: up to 9 objects, each with the renderer's modifiers.
    static constexpr size_t kFormatPodBytes = 16384;
    workaround::SmallBuffers small_buffers_;

    // A new size waits until it settles (workaround 6), since the first change that has not.
    DeferredCall settle_resize_;
    std::optional<int64_t> unsettled_since_us_;
    // Measured over the whole test suite (consumers slow by 200 ms included): a frame found a
    // buffer free every time but once, behind a consumer that kept all of them on purpose.
    static constexpr int64_t kStallLimitUs = 2 * G_USEC_PER_SEC;
    // Since when frames have found every buffer with the consumers; unset while one is free.
    std::optional<int64_t> waiting_for_buffer_since_us_;
    // The consumers named in the last warning about kept buffers: the same ones are not
    // warned about twice in a row.
    std::string stalled_consumers_;

    static constexpr guint kFirstRetryDelayMs = 5;
    static constexpr guint kMaxRetryDelayMs = 1000;
    guint retry_delay_ms_ = kFirstRetryDelayMs;
    GSourcePtr retry_timer_;
    workaround::NewConsumerRepeats new_consumer_repeats_{
        [this] { request_frame_if_streaming(FrameRequest::NewConsumer); }};
};

} // namespace vmcast::pipewire
