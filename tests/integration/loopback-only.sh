#!/bin/sh
# Runs a command in a new network namespace whose only interface is loopback, so WebRTC tests
# can neither reach nor depend on any other network. Root creates it directly; other users get
# it inside a user namespace where they are root.
set -eu
if [ "$(id -u)" = 0 ]; then
    exec unshare --net -- sh -c 'ip link set lo up && exec "$@"' loopback-only "$@"
fi
exec unshare --user --map-root-user --net -- sh -c 'ip link set lo up && exec "$@"' \
    loopback-only "$@"
