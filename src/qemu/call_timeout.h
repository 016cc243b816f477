// How long vmcast waits for QEMU's answer to a D-Bus call. QEMU answers from its main loop at
// once while it runs; a QEMU that is stopped (SIGSTOP, a debugger, a paused host) answers late
// or never, and every call to it must end, as an error, well before D-Bus's default 25 s.
#pragma once

namespace vmcast::qemu {

inline constexpr int kQemuCallTimeoutMs = 5000;

} // namespace vmcast::qemu
