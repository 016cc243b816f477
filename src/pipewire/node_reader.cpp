#include "pipewire/node_reader.h"

#include <utility>
#include <vector>

#include <glib.h>
#include <pipewire/keys.h>
#include <spa/buffer/buffer.h>
#include <spa/param/buffers.h>
#include <spa/param/format-utils.h>
#include <spa/param/video/format-utils.h>
#include <spa/pod/builder.h>

#include "pipewire/stream_params.h"

namespace vmcast::pipewire {
namespace {

// Any size and rate, in the composited picture's own byte order (BGRA for producers that
// mark alpha); the encoder converts once, to what it encodes.
std::vector<const spa_pod *> enum_formats(spa_pod_builder &builder) {
    const spa_rectangle min_size = SPA_RECTANGLE(1, 1);
    const spa_rectangle default_size = SPA_RECTANGLE(1024, 768);
    const spa_rectangle max_size = SPA_RECTANGLE(16384, 16384);
    const spa_fraction min_rate = SPA_FRACTION(0, 1);
    const spa_fraction max_rate = SPA_FRACTION(1000, 1);
    std::vector<const spa_pod *> formats;
    formats.push_back(static_cast<const spa_pod *>(spa_pod_builder_add_object(
        &builder, SPA_TYPE_OBJECT_Format, SPA_PARAM_EnumFormat, SPA_FORMAT_mediaType,
        SPA_POD_Id(SPA_MEDIA_TYPE_video), SPA_FORMAT_mediaSubtype,
        SPA_POD_Id(SPA_MEDIA_SUBTYPE_raw), SPA_FORMAT_VIDEO_format,
        SPA_POD_CHOICE_ENUM_Id(3, SPA_VIDEO_FORMAT_BGRx, SPA_VIDEO_FORMAT_BGRx,
                               SPA_VIDEO_FORMAT_BGRA),
        SPA_FORMAT_VIDEO_size, SPA_POD_CHOICE_RANGE_Rectangle(&default_size, &min_size, &max_size),
        SPA_FORMAT_VIDEO_framerate,
        SPA_POD_CHOICE_RANGE_Fraction(&min_rate, &min_rate, &max_rate))));
    return formats;
}

// Where a buffer's picture is, or an empty span when it carries none (a cursor-only buffer,
// one the producer marked CORRUPTED) or its chunk does not fit its memory.
std::span<const uint8_t> picture_of(const spa_buffer &buffer, const spa_video_info_raw &format,
                                    size_t &stride) {
    if (buffer.n_datas < 1 || !buffer.datas[0].data || !buffer.datas[0].chunk)
        return {};
    const spa_data &data = buffer.datas[0];
    const spa_chunk &chunk = *data.chunk;
    const size_t row = size_t(format.size.width) * 4;
    stride = chunk.stride > 0 ? size_t(chunk.stride) : row;
    const size_t needed = stride * (format.size.height - 1) + row;
    if ((chunk.flags & SPA_CHUNK_FLAG_CORRUPTED) || chunk.size == 0 || stride < row ||
        chunk.size < needed || chunk.offset > data.maxsize ||
        chunk.size > data.maxsize - chunk.offset)
        return {};
    return {static_cast<const uint8_t *>(data.data) + chunk.offset, needed};
}

} // namespace

// A pw_stream with its listener, both gone with the object.
struct NodeReader::Stream {
    pw_stream *stream = nullptr;
    spa_hook listener{};

    Stream() = default;
    Stream(const Stream &) = delete;
    Stream &operator=(const Stream &) = delete;
    ~Stream() {
        if (!stream) // pw_stream_new failed
            return;
        spa_hook_remove(&listener);
        pw_stream_destroy(stream);
    }
};

NodeReader::NodeReader(PipeWireContext &pipewire, std::string node_name,
                       const std::string &reader_name, PictureCallback on_picture,
                       ErrorCallback on_error)
    : pipewire_(pipewire), node_name_(std::move(node_name)), reader_name_(reader_name),
      on_picture_(std::move(on_picture)), on_error_(std::move(on_error)),
      pipewire_watch_(pipewire.watch_connection([this](bool connected) {
          format_.reset();
          stream_.reset();
          if (connected && started_)
              open_stream();
      })) {}

NodeReader::~NodeReader() = default;

void NodeReader::start() {
    if (started_)
        return;
    started_ = true;
    if (pipewire_.connected())
        open_stream();
}

void NodeReader::stop() {
    started_ = false;
    stream_.reset();
    format_.reset();
}

void NodeReader::open_stream() {
    pw_properties *props = pw_properties_new(
        PW_KEY_MEDIA_TYPE, "Video", PW_KEY_MEDIA_CATEGORY, "Capture", PW_KEY_MEDIA_ROLE, "Screen",
        PW_KEY_NODE_NAME, reader_name_.c_str(), PW_KEY_TARGET_OBJECT, node_name_.c_str(), nullptr);
    stream_ = std::make_unique<Stream>();
    pw_stream *stream = pw_stream_new(pipewire_.core(), reader_name_.c_str(), props);
    if (!stream) {
        g_warning("cannot make a reader of %s", node_name_.c_str());
        stream_.reset();
        return;
    }
    stream_->stream = stream;
    static const pw_stream_events events = {
        .version = PW_VERSION_STREAM_EVENTS,
        .destroy = nullptr,
        .state_changed =
            [](void *data, pw_stream_state, pw_stream_state state, const char *error) {
                static_cast<NodeReader *>(data)->on_state_changed(state, error);
            },
        .control_info = nullptr,
        .io_changed = nullptr,
        .param_changed =
            [](void *data, uint32_t id, const spa_pod *param) {
                static_cast<NodeReader *>(data)->on_param_changed(id, param);
            },
        .add_buffer = nullptr,
        .remove_buffer = nullptr,
        .process = [](void *data) { static_cast<NodeReader *>(data)->on_process(); },
        .drained = nullptr,
        .command = nullptr,
        .trigger_done = nullptr,
    };
    pw_stream_add_listener(stream, &stream_->listener, &events, this);
    uint8_t pod_memory[1024];
    spa_pod_builder builder = SPA_POD_BUILDER_INIT(pod_memory, sizeof(pod_memory));
    std::vector<const spa_pod *> formats = enum_formats(builder);
    const auto flags = pw_stream_flags(PW_STREAM_FLAG_AUTOCONNECT | PW_STREAM_FLAG_MAP_BUFFERS);
    if (pw_stream_connect(stream, PW_DIRECTION_INPUT, PW_ID_ANY, flags, formats.data(),
                          uint32_t(formats.size())) < 0) {
        g_warning("cannot connect a reader of %s", node_name_.c_str());
        stream_.reset();
    }
}

void NodeReader::on_state_changed(pw_stream_state state, const char *error) {
    if (state != PW_STREAM_STATE_ERROR)
        return;
    const std::string reason = error ? error : "stream error";
    g_warning("reader of %s: %s", node_name_.c_str(), reason.c_str());
    on_error_(reason);
}

void NodeReader::on_param_changed(uint32_t id, const spa_pod *param) {
    if (id != SPA_PARAM_Format)
        return;
    format_.reset();
    if (!param)
        return;
    spa_video_info_raw info{};
    if (!parse_stream_format(param, info) || info.size.width == 0 || info.size.height == 0 ||
        (info.format != SPA_VIDEO_FORMAT_BGRx && info.format != SPA_VIDEO_FORMAT_BGRA)) {
        g_warning("reader of %s: the node chose a format it cannot read", node_name_.c_str());
        on_error_("the node chose a format vmcast's reader cannot read");
        return;
    }
    format_ = info;
    g_debug("reader of %s: %ux%u", node_name_.c_str(), info.size.width, info.size.height);
    // Shared memory only, mapped by PipeWire; the producer's buffer count wins.
    uint8_t pod_memory[512];
    spa_pod_builder builder = SPA_POD_BUILDER_INIT(pod_memory, sizeof(pod_memory));
    const spa_pod *buffers = static_cast<const spa_pod *>(spa_pod_builder_add_object(
        &builder, SPA_TYPE_OBJECT_ParamBuffers, SPA_PARAM_Buffers, SPA_PARAM_BUFFERS_buffers,
        SPA_POD_CHOICE_RANGE_Int(8, 2, 16), SPA_PARAM_BUFFERS_dataType,
        SPA_POD_CHOICE_FLAGS_Int((1 << SPA_DATA_MemFd) | (1 << SPA_DATA_MemPtr))));
    pw_stream_update_params(stream_->stream, &buffers, 1);
}

void NodeReader::on_process() {
    // Every buffer goes back at once; only the newest picture matters.
    pw_buffer *newest = nullptr;
    std::span<const uint8_t> newest_pixels;
    size_t newest_stride = 0;
    while (pw_buffer *buffer = pw_stream_dequeue_buffer(stream_->stream)) {
        size_t stride = 0;
        const std::span<const uint8_t> pixels =
            format_ ? picture_of(*buffer->buffer, *format_, stride) : std::span<const uint8_t>();
        if (pixels.empty()) {
            pw_stream_queue_buffer(stream_->stream, buffer);
            continue;
        }
        if (newest)
            pw_stream_queue_buffer(stream_->stream, newest);
        newest = buffer;
        newest_pixels = pixels;
        newest_stride = stride;
    }
    if (!newest)
        return;
    on_picture_({format_->size.width, format_->size.height, newest_stride, format_->format,
                 format_->max_framerate, newest_pixels});
    pw_stream_queue_buffer(stream_->stream, newest);
}

} // namespace vmcast::pipewire
