// vmcast's log output: one line per message on stderr, "domain: level: text", or, when stderr is
// the journal (run by systemd), journald entries with their priority. Each module logs in its own
// domain (vmcast-qemu, vmcast-compositor, vmcast-pipewire, vmcast-wlroots...).
#pragma once

#include <string>

namespace vmcast::app {

// Without verbose only warnings and errors are printed, plus info from the app itself.
void setup_logging(bool verbose);

// The line vmcast ends with when it cannot go on ("vmcast: MESSAGE"), on stderr; as an error
// when stderr is the journal.
void print_error(const std::string &message);

} // namespace vmcast::app
