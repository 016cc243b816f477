#!/usr/bin/python3
"""A screen-casting app as the portal sees it: `screencast_client.py DIR` starts a ScreenCast
session through org.freedesktop.portal.Desktop on the session bus (CreateSession, SelectSources
for one monitor, Start), prints `node ID` for the stream Start gave, and runs
`gst-launch-1.0 pipewiresrc fd=FD path=ID` on the portal's OpenPipeWireRemote fd, writing
DIR/frame-NNNNNN.ppm, until it is killed. It stays connected meanwhile: the portal ends the
session when its client leaves the bus. Needs python3-gi (run with /usr/bin/python3)."""
import subprocess
import sys

import gi

gi.require_version("Gio", "2.0")
from gi.repository import Gio, GLib  # noqa: E402

PORTAL = "org.freedesktop.portal.Desktop"
OBJECT_PATH = "/org/freedesktop/portal/desktop"
SCREENCAST = "org.freedesktop.portal.ScreenCast"
MONITOR = 1  # SelectSources' source type


def portal_request(bus, method: str, args: list, signature: str, token: str) -> dict:
    """Calls a portal method whose answer comes as its Request's Response signal (the handle is
    subscribed before the call, so the answer cannot come first); exits on a refusal."""
    sender = bus.get_unique_name()[1:].replace(".", "_")
    handle = f"{OBJECT_PATH}/request/{sender}/{token}"
    loop = GLib.MainLoop()
    answer = {}

    def on_response(_bus, _sender, _path, _iface, _signal, params):
        answer["code"], answer["results"] = params.unpack()
        loop.quit()
    subscription = bus.signal_subscribe(PORTAL, "org.freedesktop.portal.Request", "Response",
                                        handle, None, Gio.DBusSignalFlags.NO_MATCH_RULE,
                                        on_response)
    args[-1]["handle_token"] = GLib.Variant("s", token)
    bus.call_sync(PORTAL, OBJECT_PATH, SCREENCAST, method, GLib.Variant(signature, tuple(args)),
                  None, Gio.DBusCallFlags.NONE, -1, None)
    loop.run()
    bus.signal_unsubscribe(subscription)
    if answer["code"] != 0:
        sys.exit(f"{method}: the portal answered {answer['code']}")
    return answer["results"]


def main() -> int:
    directory = sys.argv[1]
    bus = Gio.bus_get_sync(Gio.BusType.SESSION, None)
    created = portal_request(bus, "CreateSession",
                             [{"session_handle_token": GLib.Variant("s", "vmcast")}],
                             "(a{sv})", "create")
    session = created["session_handle"]
    portal_request(bus, "SelectSources",
                   [session, {"types": GLib.Variant("u", MONITOR),
                              "multiple": GLib.Variant("b", False)}], "(oa{sv})", "select")
    started = portal_request(bus, "Start", [session, "", {}], "(osa{sv})", "start")
    node = started["streams"][0][0]
    print(f"node {node}", flush=True)
    reply, fds = bus.call_with_unix_fd_list_sync(
        PORTAL, OBJECT_PATH, SCREENCAST, "OpenPipeWireRemote",
        GLib.Variant("(oa{sv})", (session, {})), GLib.VariantType("(h)"),
        Gio.DBusCallFlags.NONE, -1, None, None)
    fd = fds.get(reply.unpack()[0])
    return subprocess.run(
        ["gst-launch-1.0", "-q", "pipewiresrc", f"fd={fd}", f"path={node}", "always-copy=true",
         "!", "videoconvert", "!", "video/x-raw,format=RGB", "!", "pnmenc", "!",
         "multifilesink", f"location={directory}/frame-%06d.ppm", "max-files=4"],
        pass_fds=(fd,)).returncode


if __name__ == "__main__":
    sys.exit(main())
