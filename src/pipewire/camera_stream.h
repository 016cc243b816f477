// One console as a camera: a second PipeWire node next to the screen node (ConsoleStream), fed
// from the same composited frames, in what camera consumers take. Browsers and OBS reach
// PipeWire only through the Camera portal, which shows only media.role=Camera nodes, and their
// capturer needs an alpha format and a fixed frame rate. One node runs one format for all its
// consumers, so these live apart from the screen node's BGRx at a variable rate.
//
// While a consumer streams, the stream keeps the latest picture in memory (the frame renderer
// is valid only while a frame is handed over) and queues a buffer at the fixed rate, still
// screen or not, as cameras do: a consumer that links while the screen is still, or an encoder
// that owes a late peer a key frame, would otherwise get nothing. Each buffer gets only what it
// lacks copied in, so a still screen costs the queueing alone. With no consumer streaming, it keeps
// nothing and does nothing.
//
// A camera keeps its size while a consumer is linked: browsers' capturers (libwebrtc) and
// pipewiresrc stop for good when a linked camera renegotiates. A console resized meanwhile is
// letterboxed into the size the consumers opened; once none is linked, the camera takes the
// console's size again for the next one. A camera given a size keeps it always.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <pipewire/stream.h>
#include <spa/param/video/raw.h>
#include <spa/utils/hook.h>

#include "common/deferred_call.h"
#include "common/fixed_rate_timer.h"
#include "common/frame_source.h"
#include "frame/damage.h"
#include "frame/letterbox.h"
#include "pipewire/pipewire_context.h"
#include "pipewire/stream_buffer.h"
#include "pipewire/stream_identity.h"
#include "pipewire/workarounds.h"

namespace vmcast::pipewire {

struct CameraSettings {
    uint32_t fps = 30;               // the fixed frame rate
    std::optional<frame::Size> size; // the size always; none: the console's (see above)
};

class CameraStream final : public FrameSink {
  public:
    // screen: the identity of the console's screen node; the camera node is named after it
    // (camera_node_name). console: the console's size. fps: the fixed frame rate. fixed_size:
    // the camera's size always; none: the console's, kept while a consumer is linked.
    CameraStream(PipeWireContext &pipewire, const StreamIdentity &screen, frame::Size console,
                 uint32_t fps, std::optional<frame::Size> fixed_size, FrameSource &frames);
    CameraStream(const CameraStream &) = delete;
    CameraStream &operator=(const CameraStream &) = delete;
    ~CameraStream() override;

    // FrameSink
    void frame_ready(FrameRenderer &frame, const frame::DamageRegion &damage) override;
    void size_changed(uint32_t width, uint32_t height) override;

    const std::string &node_name() const { return node_name_; }

  private:
    // The console's picture scaled into the camera's size, redrawn at the first tick after the
    // picture changed: once per change, not per buffer or tick.
    struct Letterboxed {
        frame::LetterboxedFrame frame;
        bool current = false; // shows the picture as it is now
    };
    // The latest composited picture as B,G,R,X bytes, kept while a consumer streams.
    struct Picture {
        Picture(frame::Size console, frame::Size camera);
        frame::Size size; // the console's
        std::vector<uint8_t> pixels;
        frame::DamageRegion unrendered;         // not drawn yet: all of it until the first frame
        std::optional<Letterboxed> letterboxed; // when the camera's size is not the console's
        bool complete() const { return unrendered.empty(); }
        size_t stride() const { return size_t(size.width) * 4; }
    };

    void announce_formats();
    void announce_buffers();
    void on_state_changed(pw_stream_state state, const char *error);
    void on_param_changed(uint32_t id, const spa_pod *param);
    void on_add_buffer(pw_buffer *buffer);
    void on_remove_buffer(pw_buffer *buffer);
    void start_sending();
    void stop_sending();
    bool consumers_linked() const;
    // Renegotiates for the console's size unless consumers are linked or the size is fixed.
    void follow_console_size();
    // A new picture for the console's and the camera's sizes, while one is kept.
    void renew_picture();
    // One tick of the fixed rate: a free buffer gets what it lacks of the picture, and goes out.
    void send_frame();

    PipeWireContext &pipewire_;
    std::string node_name_;
    frame::Size console_;
    std::optional<frame::Size> fixed_size_;
    frame::Size size_; // the camera's: what it offers and sends
    uint32_t fps_;
    FrameSource &frames_;
    uint32_t watched_node_id_ = SPA_ID_INVALID; // whose links keep the camera's size
    pw_stream *stream_ = nullptr;
    spa_hook stream_listener_{};
    pw_stream_state state_ = PW_STREAM_STATE_UNCONNECTED;
    std::optional<spa_video_format> negotiated_; // for size_; none: nothing to send
    std::optional<Picture> picture_;             // exists while the stream streams
    FixedRateTimer cadence_;                     // runs while the stream streams
    // One per pw_buffer (its user_data), owned here: a stream whose daemon went away is
    // destroyed without remove_buffer.
    std::vector<std::unique_ptr<StreamBuffer>> slots_;
    uint64_t sequence_ = 0;
    workaround::SmallBuffers small_buffers_;
    DeferredCall renegotiation_;
};

} // namespace vmcast::pipewire
