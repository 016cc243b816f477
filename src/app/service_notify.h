// What vmcast tells systemd about itself (sd_notify, for Type=notify units). Without
// $NOTIFY_SOCKET (not started by systemd) these do nothing.
#pragma once

namespace vmcast::app {

// The bus is watched: vmcast serves what it was started for.
void notify_ready();
// A reload (SIGHUP) began; notify_ready() ends it.
void notify_reloading();
// vmcast is stopping.
void notify_stopping();

} // namespace vmcast::app
