// A PipeWire consumer inside vmcast: reads one node, as any application would, and hands its
// newest picture to a callback. The page's encoders read the console nodes through it. Unlike
// GStreamer's pipewiresrc in PipeWire 0.3.65, it takes each new format (a new size) and keeps
// reading through the pause a renegotiation makes; it gives every buffer back at once. When
// PipeWire goes away and comes back, a started reader links to the node again by itself.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include <pipewire/stream.h>
#include <spa/param/video/raw.h>
#include <spa/utils/hook.h>

#include "pipewire/pipewire_context.h"

namespace vmcast::pipewire {

// One picture as read: rows of width * 4 bytes, stride bytes apart.
struct ReadPicture {
    uint32_t width = 0;
    uint32_t height = 0;
    size_t stride = 0;
    spa_video_format format = SPA_VIDEO_FORMAT_UNKNOWN; // BGRx or BGRA
    spa_fraction max_framerate = SPA_FRACTION(0, 1);    // the most the node sends
    std::span<const uint8_t> pixels;                    // stride * (height - 1) + width * 4
};

class NodeReader {
  public:
    using PictureCallback = std::function<void(const ReadPicture &)>;
    using ErrorCallback = std::function<void(const std::string &error)>;

    // Reads the node whose node.name is node_name once started; reader_name names this
    // consumer's own node. on_error: the stream failed, or the node chose a format the reader
    // cannot read; whoever started the reader stops it (not from inside the callback).
    NodeReader(PipeWireContext &pipewire, std::string node_name, const std::string &reader_name,
               PictureCallback on_picture, ErrorCallback on_error);
    NodeReader(const NodeReader &) = delete;
    NodeReader &operator=(const NodeReader &) = delete;
    ~NodeReader();

    // Links to the node (WirePlumber makes the link), or unlinks: no link costs the node
    // nothing.
    void start();
    void stop();

  private:
    struct Stream; // on the current core, connected to the node
    void open_stream();
    void on_state_changed(pw_stream_state state, const char *error);
    void on_param_changed(uint32_t id, const spa_pod *param);
    void on_process();

    PipeWireContext &pipewire_;
    std::string node_name_;
    std::string reader_name_;
    PictureCallback on_picture_;
    ErrorCallback on_error_;
    bool started_ = false;
    // While started and PipeWire is connected.
    std::unique_ptr<Stream> stream_;
    std::optional<spa_video_info_raw> format_; // while the node's format is agreed
    CallbackList<bool>::Subscription pipewire_watch_;
};

} // namespace vmcast::pipewire
