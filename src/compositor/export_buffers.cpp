#include "compositor/export_buffers.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include <glib.h>

#include "compositor/compositor.h"
#include "compositor/console_output.h"
#include "compositor/memfd_buffer.h"
#include "compositor/wlr.h"

namespace vmcast::compositor {

namespace {

// An export buffer as wlroots sees it: the renderer binds it to draw the output's frame.
class OutputExportDmabuf final : public ExportDmabuf {
  public:
    // Takes over the reference to buffer; nullptr (and the buffer dropped) when it offers no
    // DMA-BUF attributes.
    static std::unique_ptr<OutputExportDmabuf> adopt(wlr_buffer *buffer, ConsoleOutput &output) {
        if (!buffer)
            return nullptr;
        std::unique_ptr<OutputExportDmabuf> exported(new OutputExportDmabuf(buffer, output));
        wlr_dmabuf_attributes attributes{};
        if (!wlr_buffer_get_dmabuf(buffer, &attributes) || attributes.n_planes < 1 ||
            attributes.n_planes > WLR_DMABUF_MAX_PLANES)
            return nullptr;
        exported->width_ = uint32_t(attributes.width);
        exported->height_ = uint32_t(attributes.height);
        exported->modifier_ = attributes.modifier;
        for (int plane = 0; plane < attributes.n_planes; plane++)
            exported->planes_.push_back(
                {attributes.fd[plane], attributes.offset[plane], attributes.stride[plane]});
        return exported;
    }
    OutputExportDmabuf(const OutputExportDmabuf &) = delete;
    OutputExportDmabuf &operator=(const OutputExportDmabuf &) = delete;
    ~OutputExportDmabuf() override { wlr_buffer_drop(buffer_); }

    uint32_t width() const override { return width_; }
    uint32_t height() const override { return height_; }
    uint64_t modifier() const override { return modifier_; }
    std::span<const ExportPlane> planes() const override { return planes_; }
    bool render(const frame::DamageRegion &region) override {
        return output_.render_into(region, buffer_);
    }

  private:
    OutputExportDmabuf(wlr_buffer *buffer, ConsoleOutput &output)
        : buffer_(buffer), output_(output) {}

    wlr_buffer *buffer_;
    ConsoleOutput &output_;
    uint32_t width_ = 0;
    uint32_t height_ = 0;
    uint64_t modifier_ = 0;
    std::vector<ExportPlane> planes_; // fds owned by buffer_
};

struct DrmFormatFree {
    void operator()(wlr_drm_format *format) const { std::free(format); }
};
using DrmFormatPtr = std::unique_ptr<wlr_drm_format, DrmFormatFree>;

DrmFormatPtr drm_format_with(uint32_t fourcc, std::span<const uint64_t> modifiers) {
    auto *format = static_cast<wlr_drm_format *>(
        std::calloc(1, sizeof(wlr_drm_format) + modifiers.size() * sizeof(uint64_t)));
    if (!format)
        return nullptr;
    format->format = fourcc;
    format->len = modifiers.size();
    format->capacity = modifiers.size();
    std::copy(modifiers.begin(), modifiers.end(), format->modifiers);
    return DrmFormatPtr(format);
}

// GBM buffers in the layouts the GLES2 renderer lists as renderable (EGL's formats and
// modifiers that are not external-only).
class RendererDmabufFactory final : public ExportBufferFactory {
  public:
    RendererDmabufFactory(wlr_allocator *allocator, const wlr_drm_format_set &formats)
        : allocator_(allocator), formats_(formats) {}

    std::vector<uint64_t> render_modifiers(uint32_t fourcc) const override {
        const wlr_drm_format *format = wlr_drm_format_set_get(&formats_, fourcc);
        if (!format)
            return {};
        return {format->modifiers, format->modifiers + format->len};
    }

    wlr_buffer *create(uint32_t width, uint32_t height, uint32_t fourcc,
                       std::span<const uint64_t> modifiers) override {
        DrmFormatPtr format = drm_format_with(fourcc, modifiers);
        if (!format)
            return nullptr;
        return wlr_allocator_create_buffer(allocator_, int(width), int(height), format.get());
    }

  private:
    wlr_allocator *allocator_;
    const wlr_drm_format_set &formats_;
};

class MemfdDmabufFactory final : public ExportBufferFactory {
  public:
    // LINEAR, and an X-tiled modifier that never allocates: a GPU whose EGL lists a modifier
    // its allocator then refuses, which the stream must drop.
    std::vector<uint64_t> render_modifiers(uint32_t fourcc) const override {
        if (!memfd_buffer_supports(fourcc))
            return {};
        return {I915_FORMAT_MOD_X_TILED, DRM_FORMAT_MOD_LINEAR};
    }

    wlr_buffer *create(uint32_t width, uint32_t height, uint32_t fourcc,
                       std::span<const uint64_t> modifiers) override {
        if (std::ranges::find(modifiers, DRM_FORMAT_MOD_LINEAR) == modifiers.end())
            return nullptr;
        return create_memfd_buffer(MemfdBufferRole::LinearDmabuf, int(width), int(height), fourcc);
    }
};

} // namespace

std::unique_ptr<ExportDmabuf> OutputExportAllocator::allocate(uint32_t width, uint32_t height,
                                                              uint32_t fourcc,
                                                              std::span<const uint64_t> modifiers) {
    return OutputExportDmabuf::adopt(factory_.create(width, height, fourcc, modifiers), output_);
}

std::unique_ptr<ExportBufferFactory> create_export_buffer_factory(Compositor &compositor) {
    const char *test_memfds = g_getenv("VMCAST_TEST_MEMFD_DMABUFS");
    if (test_memfds && std::strcmp(test_memfds, "1") == 0 && compositor.renders_on_cpu()) {
        g_warning("VMCAST_TEST_MEMFD_DMABUFS=1: offering memfds as LINEAR DMA-BUFs (for tests)");
        return std::make_unique<MemfdDmabufFactory>();
    }
    if (!wlr_renderer_is_gles2(compositor.renderer()) ||
        !(compositor.allocator()->buffer_caps & WLR_BUFFER_CAP_DMABUF)) {
        g_info("frames go to PipeWire consumers as shared memory (%s renders no DMA-BUFs)",
               compositor.renderer_name());
        return nullptr;
    }
    const wlr_egl *egl = wlr_gles2_renderer_get_egl(compositor.renderer());
    g_info("frames go to PipeWire consumers as DMA-BUFs where they take them (%zu renderable "
           "formats), as shared memory otherwise",
           egl->dmabuf_render_formats.len);
    return std::make_unique<RendererDmabufFactory>(compositor.allocator(),
                                                   egl->dmabuf_render_formats);
}

} // namespace vmcast::compositor
