#include "app/config_reload.h"

#include <glib-unix.h>

#include <csignal>
#include <optional>
#include <vector>

#include "app/service_notify.h"
#include "app/web_tokens.h"

namespace vmcast::app {
namespace {

// The settings a running vmcast keeps until it restarts, named as the config file names them,
// that differ between the two.
std::string restart_needed(const Options &running, const Options &fresh) {
    std::vector<const char *> changed;
    if (fresh.address != running.address || fresh.qmp_socket != running.qmp_socket)
        changed.push_back("[bus] address");
    if (fresh.libvirt_uri != running.libvirt_uri)
        changed.push_back("[libvirt] uri");
    if (fresh.max_fps != running.max_fps)
        changed.push_back("[stream] max-fps");
    if (fresh.cursor_mode != running.cursor_mode)
        changed.push_back("[stream] cursor");
    if (fresh.camera != running.camera || fresh.camera_fps != running.camera_fps ||
        fresh.camera_size != running.camera_size)
        changed.push_back("[stream] camera");
    if (fresh.web_listen != running.web_listen)
        changed.push_back("[web] listen");
    if (fresh.wayland_socket != running.wayland_socket)
        changed.push_back("[wayland] socket");
    if (fresh.web_codec != running.web_codec)
        changed.push_back("[web] codec");
    if (fresh.web_microphone != running.web_microphone)
        changed.push_back("[web] microphone");
    std::string list;
    for (const char *name : changed)
        list += (list.empty() ? "" : ", ") + std::string(name);
    return list;
}

} // namespace

ConfigReload::ConfigReload(Options &running, Targets targets)
    : running_(running), targets_(std::move(targets)),
      source_(g_unix_signal_add(SIGHUP, on_hangup, this)) {}

ConfigReload::~ConfigReload() {
    g_source_remove(source_);
}

gboolean ConfigReload::on_hangup(gpointer self) {
    static_cast<ConfigReload *>(self)->reload();
    return G_SOURCE_CONTINUE;
}

void ConfigReload::reload() {
    notify_reloading();
    Options fresh;
    std::string error;
    // Everything is read before anything changes: one bad value keeps all the running ones.
    bool read = reread_options(running_, fresh, error);
    std::optional<web::AccessTokens> tokens;
    if (read && targets_.web) {
        tokens = targets_.web->tokens(); // a file without a view-only token keeps this one
        read = load_web_tokens(fresh, *tokens, error);
    }
    if (!read) {
        g_warning("reload: %s; the running settings stay", error.c_str());
        notify_ready();
        return;
    }
    const std::string restart = restart_needed(running_, fresh);
    if (!restart.empty())
        g_warning("reload: %s changed; they take effect when vmcast restarts", restart.c_str());

    if (tokens && (tokens->full() != targets_.web->tokens().full() ||
                   tokens->view() != targets_.web->tokens().view())) {
        targets_.web->set_tokens(std::move(*tokens));
        targets_.tokens_changed();
    }
    running_.web_token_file = fresh.web_token_file;
    if (targets_.web && fresh.web_bitrate_kbps != running_.web_bitrate_kbps)
        targets_.web->set_bitrate(fresh.web_bitrate_kbps);
    running_.web_bitrate_kbps = fresh.web_bitrate_kbps;
    if (fresh.vm_names != running_.vm_names) {
        running_.vm_names = fresh.vm_names;
        targets_.vms_changed();
    }
    g_message("reloaded %s",
              running_.config_file.empty() ? "the command line" : running_.config_file.c_str());
    notify_ready();
}

} // namespace vmcast::app
