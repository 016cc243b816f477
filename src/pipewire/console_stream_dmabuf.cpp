// ConsoleStream's side of PipeWire's DMA-BUF negotiation (doc/dma-buf.dox): the modifier a
// consumer leaves open is fixed by a test allocation, and the buffers are allocated in the
// layout agreed on; a modifier that fails is dropped and the stream offers the others.
#include "pipewire/console_stream.h"

#include <algorithm>

#include <pipewire/pipewire.h>

#include "pipewire/stream_params.h"

namespace vmcast::pipewire {

void ConsoleStream::log_dmabuf_offer() const {
    if (!allocates_buffers_)
        return;
    size_t offered = 0;
    for (spa_video_format format : kStreamFormats)
        offered += dmabufs_.modifiers(format).size();
    g_info("%s: offering %zu DMA-BUF format and modifier pairs at %ux%u, fixed by a test "
           "allocation once a consumer takes some",
           identity_.node_name.c_str(), offered, width_, height_);
}

void ConsoleStream::fixate_modifier(spa_video_format format,
                                    const std::vector<uint64_t> &candidates) {
    const size_t offered = dmabufs_.modifiers(format).size();
    fixated_dmabuf_ = dmabufs_.fixate(format, candidates, width_, height_);
    if (fixated_dmabuf_) {
        g_info("%s: fixing the %s %ux%u DMA-BUF modifier at 0x%016llx (test-allocated among "
               "%zu the consumer takes)",
               identity_.node_name.c_str(), format_name(format), width_, height_,
               static_cast<unsigned long long>(fixated_dmabuf_->modifier), candidates.size());
    } else if (dmabufs_.modifiers(format).size() < offered) {
        g_warning("%s: none of the %zu %s DMA-BUF modifiers the consumer takes allocates at "
                  "%ux%u; offering the others",
                  identity_.node_name.c_str(), candidates.size(), format_name(format), width_,
                  height_);
    } else {
        // Nothing was dropped, so offering again would only bring the same answer back.
        g_warning("%s: PipeWire left a %s DMA-BUF modifier open among none vmcast offers",
                  identity_.node_name.c_str(), format_name(format));
        return;
    }
    // Answered inside the negotiation, as PipeWire's DMA-BUF negotiation asks: the new list
    // reaches PipeWire before the answer to the unfixed format, and it negotiates the link
    // again, now to the fixed format (or without the modifiers that failed).
    uint8_t pod_memory[kFormatPodBytes];
    spa_pod_builder builder = SPA_POD_BUILDER_INIT(pod_memory, sizeof(pod_memory));
    std::vector<const spa_pod *> formats = formats_to_offer(builder);
    pw_stream_update_params(stream_, formats.data(), uint32_t(formats.size()));
}

std::optional<DmabufLayout> ConsoleStream::layout_for(spa_video_format format, uint64_t modifier) {
    if (fixated_dmabuf_ && fixated_dmabuf_->format == format &&
        fixated_dmabuf_->modifier == modifier && fixated_dmabuf_->width == width_ &&
        fixated_dmabuf_->height == height_)
        return fixated_dmabuf_;
    const std::vector<uint64_t> offered = dmabufs_.modifiers(format);
    if (std::ranges::find(offered, modifier) == offered.end()) {
        // Only a consumer that ignored the offer gets here.
        g_warning("%s: consumer chose a %s DMA-BUF modifier vmcast did not offer (0x%016llx)",
                  identity_.node_name.c_str(), format_name(format),
                  static_cast<unsigned long long>(modifier));
        return std::nullopt;
    }
    // PipeWire fixed the modifier itself: the consumer did not flag it DONT_FIXATE.
    const uint64_t only[] = {modifier};
    std::optional<DmabufLayout> layout = dmabufs_.fixate(format, only, width_, height_);
    if (!layout)
        renegotiate_without(format, modifier);
    return layout;
}

void ConsoleStream::renegotiate_without(spa_video_format format, uint64_t modifier) {
    // mutter does the same: the modifier (already dropped by DmabufOffer) is no longer offered,
    // and the consumer gets the rest.
    g_warning("%s: cannot allocate a %ux%u %s DMA-BUF with modifier 0x%016llx; negotiating "
              "without it",
              identity_.node_name.c_str(), width_, height_, format_name(format),
              static_cast<unsigned long long>(modifier));
    if (!renegotiation_.pending())
        schedule_renegotiation();
}

void ConsoleStream::allocate_memory(pw_buffer *buffer, StreamBuffer &slot) {
    spa_buffer &spa = *buffer->buffer;
    const std::optional<DmabufLayout> dmabuf = negotiated_ ? negotiated_->dmabuf : std::nullopt;
    if (dmabuf && (spa.datas[0].type & (1u << SPA_DATA_DmaBuf))) {
        std::unique_ptr<ExportDmabuf> exported = dmabufs_.allocate(*dmabuf);
        if (exported && slot.attach_dmabuf(spa, std::move(exported)))
            return;
        renegotiate_without(dmabuf->format, dmabuf->modifier);
        negotiated_.reset();
        fixated_dmabuf_.reset();
        return;
    }
    if (!dmabuf && (spa.datas[0].type & (1u << SPA_DATA_MemFd)) && slot.attach_memfd(spa.datas[0]))
        return;
    g_warning("%s: cannot allocate a %zu-byte shared memory buffer: consumers get no picture "
              "from it",
              identity_.node_name.c_str(), slot.size);
}

} // namespace vmcast::pipewire
