// Both ends of a peer-to-peer D-Bus connection in one process, as QEMU's `-display dbus,p2p=yes`
// makes them: QEMU authenticates as the server, vmcast as the client. Made once per fuzz target.
#pragma once

#include <sys/socket.h>

#include <gio/gio.h>

#include "common/glib_ptr.h"

struct P2pDbus {
    vmcast::GObjectPtr<GDBusConnection> qemu;
    vmcast::GObjectPtr<GDBusConnection> vmcast;
};

// Runs the default main context until both ends are authenticated.
inline P2pDbus connect_p2p_dbus() {
    using vmcast::GObjectPtr;
    int sockets[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sockets) != 0)
        __builtin_trap();
    GObjectPtr<GSocket> qemu_socket(g_socket_new_from_fd(sockets[0], nullptr));
    GObjectPtr<GSocket> vmcast_socket(g_socket_new_from_fd(sockets[1], nullptr));
    GObjectPtr<GSocketConnection> qemu_stream(
        g_socket_connection_factory_create_connection(qemu_socket.get()));
    GObjectPtr<GSocketConnection> vmcast_stream(
        g_socket_connection_factory_create_connection(vmcast_socket.get()));
    vmcast::GCharPtr guid(g_dbus_generate_guid());
    const auto made = [](GObject *, GAsyncResult *result, gpointer end) {
        static_cast<GObjectPtr<GDBusConnection> *>(end)->reset(
            g_dbus_connection_new_finish(result, nullptr));
    };
    P2pDbus ends;
    g_dbus_connection_new(G_IO_STREAM(qemu_stream.get()), guid.get(),
                          G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_SERVER, nullptr, nullptr, made,
                          &ends.qemu);
    g_dbus_connection_new(G_IO_STREAM(vmcast_stream.get()), nullptr,
                          G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT, nullptr, nullptr, made,
                          &ends.vmcast);
    while (!ends.qemu || !ends.vmcast)
        g_main_context_iteration(nullptr, TRUE);
    return ends;
}
