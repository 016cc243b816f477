// vmcast's workarounds for bugs of PipeWire 0.3.65 (Debian 12's), all in one place, each with
// what was traced and the first release that fixes it where PipeWire's history shows one (read up
// to master f03a55d7). None is switched off by version: either nothing fixes it yet, the fix is
// partial, or the bug lives in another process (the daemon, a consumer) whose version says
// nothing about vmcast's own library.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>

#include <glib.h>
#include <pipewire/stream.h>

#include "common/deferred_call.h"
#include "common/pcm_format.h"
#include "pipewire/param_cache_warmer.h"

namespace vmcast::pipewire::workaround {

// 1. Renegotiating a running stream with several links. New EnumFormats renegotiate every link
// at once (impl-link.c, port_param_changed); the first link done recomputes the graph, which can
// idle a consumer whose link is still allocating, and deactivating an activated link marks it
// paused (pw_impl_link_deactivate): it is never allocated and its consumer gets no buffers. A
// running consumer's port may also keep its old format (do_negotiate renegotiates only an idle
// input). Partly fixed: 0.3.85 (baac9aa5, a link deactivated while negotiating goes back to
// INIT), 1.3.81 (7e436ad4), 1.6.8 (eb31fa8b); do_negotiate still suspends idle nodes.
// Offers the formats with vmcast's node inactive meanwhile: every link is deactivated before any
// renegotiates, and each is then allocated and activated in turn. Each consumer is paused for
// that moment.
void update_formats_paused(pw_stream *stream, std::span<const spa_pod *> formats);

// 2. Buffers the producer allocates: the daemon pings the producer's node and takes any result
// the node emits with the ping's sequence number for the answer (impl-link.c node_result). A
// client reading the node's Format uncached (WirePlumber, right after negotiation) can hit the
// number: the consumer gets the buffers before vmcast filled them ("invalid memory type 8").
// Not fixed as of f03a55d7. ParamCacheWarmer keeps the node's parameters cached; and where it
// may choose, vmcast lets PipeWire allocate (shared memory), which needs no ping. DMA-BUFs
// leave no choice.
pw_stream_flags connect_flags(bool vmcast_allocates_buffers);

// 3. A link that finds the producer's node idle with a format suspends it in the middle of its
// own negotiation (impl-link.c do_negotiate): the link goes back to INIT, vmcast's fixed answer
// to an open DMA-BUF modifier cancels nothing, and the stale completion allocates for the open
// modifier (use_buffers fails with -EIO). Partly fixed in 1.6.6 and 1.6.7 (c9d461bc, fc49f48a:
// a suspend cancels the pending completion). Suspends vmcast's node as soon as its last
// consumer leaves, so the next one negotiates from no format; WirePlumber would, seconds later.
// Suspending also frees any buffer a departed consumer kept, which 0.3.65 never gives back.
// True when PipeWire was asked (it ignores the command for a node already suspended).
bool suspend_unlinked_node(ParamCacheWarmer &caches, uint32_t node_id);

// 4. Right after a resize the daemon may allocate from the previous size's Buffers parameter:
// a new Buffers parameter alone does not make a link allocate again, only new EnumFormats do
// (impl-link.c port_param_changed). Not fixed as of f03a55d7. A buffer too small for the size
// calls for one more negotiation, a few times per size.
class SmallBuffers {
  public:
    // PipeWire gave a buffer of `got` bytes where a width x height frame needs `needed`: says
    // so in the log, and true when the stream should negotiate again (false once the tries for
    // this size are spent: the consumers get no picture until the size changes).
    bool renegotiate(const std::string &node, uint32_t got, uint32_t width, uint32_t height,
                     size_t needed);
    void new_size() { tries_ = 0; }

  private:
    static constexpr int kMaxTries = 3;
    int tries_ = 0;
};

// 5. A consumer's first buffer is lost now and then, under load, although its node runs. No
// release is known to fix it. The whole picture goes out again at 250 ms and 1 s;
// running consumers just get a frame with no changes. A consumer joining while an earlier one's
// repeats are pending starts them over.
class NewConsumerRepeats {
  public:
    explicit NewConsumerRepeats(std::function<void()> send) : send_(std::move(send)) {}
    void start() { schedule(0); }

  private:
    void schedule(size_t repeat) {
        if (repeat == std::size(kDelaysMs))
            return;
        timer_.schedule_in(kDelaysMs[repeat], [this, repeat] {
            send_();
            schedule(repeat + 1);
        });
    }

    static constexpr guint kDelaysMs[] = {250, 750}; // each after the previous: at 250 ms and 1 s
    std::function<void()> send_;
    DeferredCall timer_;
};

// 6. GStreamer's pipewiresrc stops for good when its stream is paused, as any renegotiation
// does (create() answers FLUSHING, basesrc pauses its task), and then keeps every buffer it is
// sent: no consumer of the node gets a picture. Fixed in 0.3.84 (bdb7f3ad); new caps downstream
// mid-stream since 0.3.70 (09625552). A consumer runs its own library, so vmcast keeps a new
// size from the consumers until the console has kept it this long: a reboot's firmware text and
// the kernel's mode come 20 to 80 ms apart under TCG, and cost them nothing.
inline constexpr guint kResizeSettleMs = 300;
// A console whose size keeps changing faster than that is followed at this pace at least.
inline constexpr guint kResizeSettleLimitMs = 1000;

// 7. A producer that changes its formats while a consumer's first link is negotiated can leave
// that consumer with unfilled buffers. No release is known to fix it. ConsoleSession creates
// the stream with the console's first picture, so its first offer has the right size.

// 8. A stream's audio converter (audioconvert) negotiates no unsigned 16- or 32-bit samples,
// although it has the conversion functions: a U16 or U32 node never gets a format and stays
// suspended while linked (observed with pw-record; later releases not checked). vmcast publishes
// them as S16 and S32 of the same byte order, each sample's top bit flipped: the same sound,
// exactly.
PcmFormat format_audioconvert_takes(const PcmFormat &format);
// Turns frames of format, in place, into format_audioconvert_takes(format).
void convert_for_audioconvert(const PcmFormat &format, std::span<uint8_t> frames);

// 9. spa_pod_filter (spa/pod/filter.h, compiled into vmcast) trusts a property's values: it reads
// as many as the choice type calls for (Range 3, Step 4), of the size the type has, whatever the
// pod holds (a choice of no values makes its count wrap around); it compares Ints and Longs by
// subtracting them and Fractions by multiplying them out (undefined on overflow), Floats by
// turning their difference into an int, and divides by a Step's step (SIGFPE at 0). A consumer's
// EnumFormat is whatever bytes it announced: fuzz/consumer_formats read past one and overflowed
// a Fraction. Later releases not checked. Formats are filtered only when each property holds
// enough values of a type video formats use, each within half its type's range (Fractions: terms
// up to INT32_MAX), with a positive step.
bool filter_can_read(const spa_pod *format);

} // namespace vmcast::pipewire::workaround
