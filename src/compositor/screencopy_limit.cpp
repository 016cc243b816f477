#include "compositor/screencopy_limit.h"

#include <cstring>

#include <glib.h>
#include <wayland-server-core.h>
#include <wayland-server-protocol.h>

namespace vmcast::compositor {

ScreencopyFrameLimit::ScreencopyFrameLimit(wl_display *display) {
    client_created_.connect_by(
        [display](wl_listener *listener) {
            wl_display_add_client_created_listener(display, listener);
        },
        [this](wl_client *client) { watch(client); });
}

void ScreencopyFrameLimit::watch(wl_client *client) {
    auto &frames = clients_[client];
    frames = std::make_unique<ClientFrames>();
    ClientFrames &watched = *frames;
    watched.resource_created.connect_by(
        [client](wl_listener *listener) {
            wl_client_add_resource_created_listener(client, listener);
        },
        [this, client, &watched](wl_resource *resource) {
            resource_created(client, watched, resource);
        });
    // Before the client's resources go; their listeners go with the entry.
    watched.destroyed.connect_by(
        [client](wl_listener *listener) { wl_client_add_destroy_listener(client, listener); },
        [this, client](wl_client *) { clients_.erase(client); });
}

void ScreencopyFrameLimit::resource_created(wl_client *client, ClientFrames &watched,
                                            wl_resource *resource) {
    if (std::strcmp(wl_resource_get_class(resource), "zwlr_screencopy_frame_v1") != 0)
        return;
    if (watched.frames.size() >= kMaxFramesPerClient) {
        g_info("disconnecting a Wayland client that holds more than %zu screencopy frames",
               kMaxFramesPerClient);
        // No screencopy error says this; the display's no_memory is what it is: vmcast will
        // not keep more for this client.
        wl_resource_post_error(wl_client_get_object(client, 1), WL_DISPLAY_ERROR_NO_MEMORY,
                               "more than %zu screencopy frames at once", kMaxFramesPerClient);
        return;
    }
    auto &destroyed = watched.frames[resource];
    destroyed = std::make_unique<WlListener<wl_resource>>();
    destroyed->connect_by(
        [resource](wl_listener *listener) { wl_resource_add_destroy_listener(resource, listener); },
        [&watched, resource](wl_resource *) { watched.frames.erase(resource); });
}

} // namespace vmcast::compositor
