// The VM's sound as a PipeWire Audio/Source node, in the format QEMU plays (PipeWire's own
// converter gives a consumer another one). The graph pulls: each cycle takes what QEMU wrote
// since, and silence where it wrote nothing. While no consumer runs the node is suspended and
// QEMU's writes are dropped at once.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <pipewire/stream.h>
#include <spa/utils/hook.h>

#include "common/pcm_format.h"
#include "pipewire/pipewire_context.h"

namespace vmcast::pipewire {

struct AudioIdentity {
    std::string node_name;   // vmcast.<vm>.audio
    std::string description; // what a person reads in a source picker
    std::string vm_name;
    std::string vm_uuid;
};

class AudioStream {
  public:
    AudioStream(PipeWireContext &pipewire, const AudioIdentity &identity, const PcmFormat &format);
    AudioStream(const AudioStream &) = delete;
    AudioStream &operator=(const AudioStream &) = delete;
    ~AudioStream();

    const PcmFormat &format() const { return format_; }
    // Whole frames of format().
    void write(std::span<const uint8_t> frames);
    // The guest's volume, applied by PipeWire's converter.
    void set_volume(bool mute, std::span<const float> volumes);

  private:
    void on_process();
    void on_state_changed(pw_stream_state state, const char *error);
    // Appends, dropping the oldest sound past kMaxQueuedMs.
    void queue(std::span<const uint8_t> frames);
    // Fills bytes with the node format's silence (the middle value for unsigned samples).
    void fill_silence(uint8_t *bytes, size_t size) const;
    // Sets the node's channelVolumes and mute to the guest's volume.
    void apply_volume();

    AudioIdentity identity_;
    PcmFormat format_;    // QEMU's
    PcmFormat published_; // the node's (workaround 8)
    pw_stream *stream_ = nullptr;
    spa_hook listener_{};
    bool streaming_ = false;
    // The guest's volume, set again when the stream is paused or streams: the adapter drops
    // controls set before a consumer links (QEMU sets the volume at Init, before any does).
    struct Volume {
        bool mute = false;
        std::vector<float> levels;
    };
    std::optional<Volume> volume_;
    // What QEMU wrote and no cycle took yet. Bounded: QEMU's clock and the graph's drift apart,
    // and a consumer that stalls must not add latency for good.
    static constexpr uint32_t kMaxQueuedMs = 200;
    std::vector<uint8_t> queued_;
    size_t queued_start_ = 0;
    // QEMU writes every 10 ms, the graph takes a quantum (21 ms at 1024 frames) a cycle: cycles
    // take sound only once a cycle's worth and kPrebufferMs more are queued, so its writes'
    // jitter makes no gaps. An underrun (QEMU stopped, or fell behind) waits for that again.
    static constexpr uint32_t kPrebufferMs = 20;
    bool prebuffered_ = false;
    // Frames a cycle takes when the consumer does not say (PipeWire's default quantum).
    static constexpr uint32_t kDefaultCycleFrames = 1024;
};

} // namespace vmcast::pipewire
