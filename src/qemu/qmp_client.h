// A small QMP client on QEMU's monitor socket, used to hand QEMU a D-Bus display client socket
// (-display dbus,p2p=yes). It is synchronous, and every wait is bounded by one deadline: a
// monitor that never answers gives an error, not a hang. At startup it runs on the main thread
// (no loop runs yet); once the loop runs, add_dbus_display_client_async takes it to a worker.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <gio/gio.h>

#include "common/unique_fd.h"

namespace vmcast::qemu {

// A command's arguments; every command vmcast sends takes only string arguments.
using QmpArguments = std::vector<std::pair<std::string, std::string>>;

class QmpClient {
  public:
    // Connects to the monitor at socket_path, reads QEMU's greeting and leaves capabilities
    // negotiation mode. Everything this client does, from now on, ends within timeout.
    // nullptr and a one-line reason in error on failure.
    static std::unique_ptr<QmpClient> connect(const std::string &socket_path,
                                              std::chrono::seconds timeout, std::string &error);
    // The same on a socket already connected to a monitor; name stands for it in errors.
    static std::unique_ptr<QmpClient> start(UniqueFd socket, const std::string &name,
                                            std::chrono::seconds timeout, std::string &error);

    // Runs command and waits for its answer. When fd_to_pass is valid it travels with the
    // command (SCM_RIGHTS), as getfd expects. false and QEMU's reason in error on failure.
    bool execute(const std::string &command, const QmpArguments &arguments, int fd_to_pass,
                 std::string &error);

  private:
    QmpClient(UniqueFd socket, std::string socket_path, std::chrono::seconds timeout);

    // Reads QEMU's greeting and leaves capabilities negotiation mode.
    bool greet(std::string &error);
    bool send_all(const std::string &text, int fd_to_pass, std::string &error);
    bool read_line(std::string &line, std::string &error);

    UniqueFd socket_;
    std::string socket_path_;
    std::chrono::seconds timeout_;
    std::chrono::steady_clock::time_point deadline_;
    std::string received_; // bytes read past the last complete line
};

// p2p mode: gives QEMU one end of a new socket pair as a D-Bus display client (QMP getfd, then
// add_client with protocol @dbus-display) and returns the other end, on which QEMU now waits
// for a D-Bus handshake. An invalid fd and a one-line reason in error on failure.
UniqueFd add_dbus_display_client(const std::string &qmp_socket, std::string &error);
// The same through a client already past the greeting.
UniqueFd add_dbus_display_client(QmpClient &qmp, std::string &error);

// add_dbus_display_client without blocking the caller: the exchange with the monitor runs on a
// GLib worker thread (it shares nothing with the caller but its result), and done gets the
// socket or the reason on the caller's thread-default main context, unless cancellable was
// cancelled first (then nobody is told, and the socket is closed). done is destroyed there too.
using DisplayClientDone = std::function<void(UniqueFd socket, std::string error)>;
void add_dbus_display_client_async(const std::string &qmp_socket, GCancellable *cancellable,
                                   DisplayClientDone done);

} // namespace vmcast::qemu
