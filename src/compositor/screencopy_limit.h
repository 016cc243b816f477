// A limit on the screencopy frames (zwlr_screencopy_frame_v1) one Wayland client holds at once.
// wlroots keeps every frame a client asks for until the client destroys it, and a pending frame
// is copied into at each commit: a client that floods capture_output and copy requests (on a
// still screen, copy_with_damage frames never complete) would hold as much of vmcast's memory,
// and as much of each frame's time, as it likes. Real clients hold one frame per output they
// copy (grim, wf-recorder, wayvnc, xdg-desktop-portal-wlr); a client past the limit gets a
// protocol error and is disconnected.
#pragma once

#include <cstddef>
#include <map>
#include <memory>

#include "compositor/wl_listener.h"

struct wl_client;
struct wl_display;
struct wl_resource;

namespace vmcast::compositor {

class ScreencopyFrameLimit {
  public:
    static constexpr size_t kMaxFramesPerClient = 16;

    explicit ScreencopyFrameLimit(wl_display *display);
    ScreencopyFrameLimit(const ScreencopyFrameLimit &) = delete;
    ScreencopyFrameLimit &operator=(const ScreencopyFrameLimit &) = delete;

  private:
    // One client's frames, each with a listener that forgets it when it is destroyed.
    struct ClientFrames {
        WlListener<wl_resource> resource_created;
        WlListener<wl_client> destroyed;
        std::map<wl_resource *, std::unique_ptr<WlListener<wl_resource>>> frames;
    };

    void watch(wl_client *client);
    void resource_created(wl_client *client, ClientFrames &frames, wl_resource *resource);

    WlListener<wl_client> client_created_;
    std::map<wl_client *, std::unique_ptr<ClientFrames>> clients_;
};

} // namespace vmcast::compositor
