// vmcast's log output: one line per message on stderr, "domain: level: text", or, when stderr is
// the journal (run by systemd), journald entries with their priority. Each module logs in its own
// domain (vmcast-qemu, vmcast-compositor, vmcast-pipewire, vmcast-wlroots...).
#pragma once

namespace vmcast::app {

// Without verbose only warnings and errors are printed, plus info from the app itself.
void setup_logging(bool verbose);

} // namespace vmcast::app
