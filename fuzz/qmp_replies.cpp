// What QEMU writes on its QMP monitor socket (the greeting, then replies and events) while
// vmcast hands it a D-Bus display client: the real client on one end of a socket pair, the
// input written whole on the other, which then stops writing, so a missing reply is an
// end-of-file at once, never a wait for the client's timeout.
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "common/unique_fd.h"
#include "qemu/qmp_client.h"

using vmcast::UniqueFd;
using vmcast::qemu::QmpClient;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    int sockets[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sockets) != 0)
        __builtin_trap();
    UniqueFd ours(sockets[0]);
    UniqueFd qemu(sockets[1]);
    // What does not fit into the socket's buffer is left out, rather than blocking here.
    fcntl(qemu.get(), F_SETFL, O_NONBLOCK);
    size_t written = 0;
    while (written < size) {
        const ssize_t done = write(qemu.get(), data + written, size - written);
        if (done <= 0)
            break;
        written += size_t(done);
    }
    shutdown(qemu.get(), SHUT_WR);
    std::string error;
    std::unique_ptr<QmpClient> client =
        QmpClient::start(std::move(ours), "fuzz-qmp", std::chrono::seconds(1), error);
    if (client)
        vmcast::qemu::add_dbus_display_client(*client, error);
    return 0;
}
