// The allocator of the outputs' own buffers when pixman renders: memfds, like wlroots' shm
// allocator, but claiming the DMA-BUF capability too. xdg-desktop-portal-wlr 0.7.0 starts a
// screen cast only after screencopy's linux_dmabuf event, which wlroots 0.15 sends only for
// outputs whose allocator has that capability; the shm allocator cannot be given it. No buffer
// ever exports a DMA-BUF (get_dmabuf answers false), so clients still copy through wl_shm.
#pragma once

struct wlr_allocator;

namespace vmcast::compositor {

// A new allocator, released with wlr_allocator_destroy; its buffers may outlive it.
wlr_allocator *create_memfd_allocator();

} // namespace vmcast::compositor
