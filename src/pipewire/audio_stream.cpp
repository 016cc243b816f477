#include "pipewire/audio_stream.h"

#include <algorithm>
#include <cstring>

#include <glib.h>
#include <pipewire/pipewire.h>
#include <spa/param/audio/format-utils.h>
#include <spa/param/props.h>

#include "pipewire/workarounds.h"

namespace vmcast::pipewire {
namespace {

// The node's format: QEMU's, less what workaround 8 converts.
spa_audio_format spa_format(const PcmFormat &format) {
    const bool be = format.big_endian;
    switch (format.kind) {
    case SampleKind::Float:
        return be ? SPA_AUDIO_FORMAT_F32_BE : SPA_AUDIO_FORMAT_F32_LE;
    case SampleKind::Signed:
        return format.bits == 8    ? SPA_AUDIO_FORMAT_S8
               : format.bits == 16 ? (be ? SPA_AUDIO_FORMAT_S16_BE : SPA_AUDIO_FORMAT_S16_LE)
                                   : (be ? SPA_AUDIO_FORMAT_S32_BE : SPA_AUDIO_FORMAT_S32_LE);
    case SampleKind::Unsigned: // only 8 bits on the node (workaround 8)
        return SPA_AUDIO_FORMAT_U8;
    }
    return SPA_AUDIO_FORMAT_UNKNOWN;
}

// QEMU names no channel positions; mono and stereo are what its sound devices play.
void set_positions(spa_audio_info_raw &info) {
    if (info.channels == 1) {
        info.position[0] = SPA_AUDIO_CHANNEL_MONO;
    } else if (info.channels == 2) {
        info.position[0] = SPA_AUDIO_CHANNEL_FL;
        info.position[1] = SPA_AUDIO_CHANNEL_FR;
    } else {
        info.flags |= SPA_AUDIO_FLAG_UNPOSITIONED;
    }
}

} // namespace

AudioStream::AudioStream(PipeWireContext &pipewire, const AudioIdentity &identity,
                         const PcmFormat &format)
    : identity_(identity), format_(format),
      published_(workaround::format_audioconvert_takes(format)) {
    pw_properties *props = pw_properties_new(
        PW_KEY_MEDIA_CLASS, "Audio/Source", PW_KEY_MEDIA_TYPE, "Audio", PW_KEY_MEDIA_CATEGORY,
        "Playback", PW_KEY_NODE_NAME, identity.node_name.c_str(), PW_KEY_NODE_DESCRIPTION,
        identity.description.c_str(), PW_KEY_MEDIA_NAME, identity.description.c_str(),
        "vmcast.vm.name", identity.vm_name.c_str(), "vmcast.vm.uuid", identity.vm_uuid.c_str(),
        nullptr);
    pw_properties_setf(props, PW_KEY_NODE_RATE, "1/%u", format.rate);
    stream_ = pw_stream_new(pipewire.core(), identity.node_name.c_str(), props);
    static const pw_stream_events events = {
        .version = PW_VERSION_STREAM_EVENTS,
        .destroy = nullptr,
        .state_changed =
            [](void *data, pw_stream_state, pw_stream_state state, const char *error) {
                static_cast<AudioStream *>(data)->on_state_changed(state, error);
            },
        .control_info = nullptr,
        .io_changed = nullptr,
        .param_changed = nullptr,
        .add_buffer = nullptr,
        .remove_buffer = nullptr,
        .process = [](void *data) { static_cast<AudioStream *>(data)->on_process(); },
        .drained = nullptr,
        .command = nullptr,
        .trigger_done = nullptr,
    };
    pw_stream_add_listener(stream_, &listener_, &events, this);

    spa_audio_info_raw info{};
    info.format = spa_format(published_);
    info.rate = format.rate;
    info.channels = format.channels;
    set_positions(info);
    uint8_t pod_memory[1024];
    spa_pod_builder builder = SPA_POD_BUILDER_INIT(pod_memory, sizeof(pod_memory));
    const spa_pod *params[] = {spa_format_audio_raw_build(&builder, SPA_PARAM_EnumFormat, &info)};
    // Not RT_PROCESS: process() runs on the main loop, where QEMU's writes arrive.
    if (pw_stream_connect(stream_, PW_DIRECTION_OUTPUT, PW_ID_ANY,
                          pw_stream_flags(PW_STREAM_FLAG_MAP_BUFFERS), params, 1) < 0)
        g_warning("%s: cannot connect the PipeWire stream", identity_.node_name.c_str());
    g_info("%s: audio node for %s", identity_.node_name.c_str(), describe(format).c_str());
}

AudioStream::~AudioStream() {
    spa_hook_remove(&listener_);
    pw_stream_destroy(stream_);
}

void AudioStream::on_state_changed(pw_stream_state state, const char *error) {
    if (state == PW_STREAM_STATE_ERROR)
        g_warning("%s: stream error: %s", identity_.node_name.c_str(), error ? error : "unknown");
    streaming_ = state == PW_STREAM_STATE_STREAMING;
    if (state == PW_STREAM_STATE_PAUSED || streaming_)
        apply_volume();
    if (!streaming_) {
        queued_.clear();
        queued_start_ = 0;
        prebuffered_ = false;
    }
}

void AudioStream::write(std::span<const uint8_t> frames) {
    if (streaming_)
        queue(frames);
}

void AudioStream::queue(std::span<const uint8_t> frames) {
    // Compacts what was taken before growing.
    if (queued_start_ > 0) {
        queued_.erase(queued_.begin(), queued_.begin() + ptrdiff_t(queued_start_));
        queued_start_ = 0;
    }
    const size_t old_size = queued_.size();
    queued_.insert(queued_.end(), frames.begin(), frames.end());
    workaround::convert_for_audioconvert(format_, std::span(queued_).subspan(old_size));
    const size_t frame_bytes = format_.bytes_per_frame();
    const size_t limit = size_t(format_.rate) * kMaxQueuedMs / 1000 * frame_bytes;
    if (queued_.size() > limit)
        queued_start_ = (queued_.size() - limit) / frame_bytes * frame_bytes;
}

void AudioStream::fill_silence(uint8_t *bytes, size_t size) const {
    // Only U8 stays unsigned on the node (workaround 8).
    memset(bytes, published_.kind == SampleKind::Unsigned ? 0x80 : 0x00, size);
}

void AudioStream::on_process() {
    pw_buffer *buffer = pw_stream_dequeue_buffer(stream_);
    if (!buffer)
        return;
    spa_data &data = buffer->buffer->datas[0];
    if (!data.data) {
        pw_stream_queue_buffer(stream_, buffer);
        return;
    }
    const size_t frame_bytes = format_.bytes_per_frame();
    size_t frames = buffer->requested > 0 ? size_t(buffer->requested) : kDefaultCycleFrames;
    frames = std::min(frames, size_t(data.maxsize) / frame_bytes);
    const size_t size = frames * frame_bytes;
    auto *out = static_cast<uint8_t *>(data.data);
    const size_t available = queued_.size() - queued_start_;
    const size_t prebuffer = size + size_t(format_.rate) * kPrebufferMs / 1000 * frame_bytes;
    if (!prebuffered_ && available >= prebuffer)
        prebuffered_ = true;
    size_t taken = 0;
    if (prebuffered_) {
        taken = std::min(available, size);
        memcpy(out, queued_.data() + queued_start_, taken);
        queued_start_ += taken;
        prebuffered_ = taken == size;
    }
    fill_silence(out + taken, size - taken);
    data.chunk->offset = 0;
    data.chunk->stride = int32_t(frame_bytes);
    data.chunk->size = uint32_t(size);
    pw_stream_queue_buffer(stream_, buffer);
}

void AudioStream::set_volume(bool mute, std::span<const float> volumes) {
    volume_ = Volume{mute, {volumes.begin(), volumes.end()}};
    apply_volume();
}

void AudioStream::apply_volume() {
    if (!volume_)
        return;
    // pw_stream_set_control takes the values as float *, and copies them.
    float muted = volume_->mute ? 1.0f : 0.0f;
    pw_stream_set_control(stream_, SPA_PROP_channelVolumes, uint32_t(volume_->levels.size()),
                          volume_->levels.data(), SPA_PROP_mute, 1u, &muted, 0);
}

} // namespace vmcast::pipewire
