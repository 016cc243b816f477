#include "app/service_notify.h"

#include <systemd/sd-daemon.h>

#include <ctime>
#include <string>

#include <glib.h>

namespace vmcast::app {
namespace {

void notify(const std::string &state) {
    const int sent = sd_notify(0, state.c_str());
    if (sent < 0)
        g_warning("cannot tell systemd '%s': %s", state.c_str(), g_strerror(-sent));
}

} // namespace

void notify_ready() {
    notify("READY=1");
}

void notify_reloading() {
    // systemd 253's Type=notify-reload wants the moment the reload began with it.
    timespec now = {};
    clock_gettime(CLOCK_MONOTONIC, &now);
    notify("RELOADING=1\nMONOTONIC_USEC=" +
           std::to_string(uint64_t(now.tv_sec) * 1000000 + uint64_t(now.tv_nsec) / 1000));
}

void notify_stopping() {
    notify("STOPPING=1");
}

} // namespace vmcast::app
