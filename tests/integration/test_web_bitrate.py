"""vmcast's bitrate adaptation under real packet loss: the page's media goes through a lossy UDP
relay in the browser driver (tests/web/lossy-relay.mjs; this kernel has no netem), which drops
a chosen fraction of vmcast's RTP packets. vmcast must lower the encoder's bitrate from the
page's RTCP receiver reports while packets are lost, and raise it again once they are not.

Meson runs this file inside a network namespace that has only loopback (unshare --net).
"""
from __future__ import annotations

import re
import threading

from vmcast_testlib import wait_for
from web_page import FULL_TOKEN, browser, served_peer, web  # noqa: F401

MAX_KBPS = 2000
_BITRATE = re.compile(r"encoder bitrate (\d+) kbit/s")


def encoder_bitrates(run) -> list[int]:
    return [int(kbps) for kbps in _BITRATE.findall(run.vmcast_log())]


def test_bitrate_falls_with_loss_and_recovers(session, artifacts, tmp_path, web, browser):
    port, args = web
    capped = (port, [*args, "--web-bitrate", str(MAX_KBPS)])
    with served_peer(session, artifacts, tmp_path, capped, "lossy") as run:
        browser.open("p", f"http://127.0.0.1:{port}/?token={FULL_TOKEN}", lossy=True)
        browser.wait_decoding("p")
        # A busy screen for the whole test, so there are packets to lose.
        def stream():
            try:
                run.peer.command("stream region=scroll rate=30 duration=120", timeout=150)
            except Exception:  # noqa: BLE001  the peer stops with the test
                pass
        threading.Thread(target=stream, daemon=True).start()

        # The picture really travels through the relay, and nothing is lost yet.
        wait_for(lambda: browser.call("loss", page="p", fraction=0)["counts"]["forwarded"] > 100,
                 15, what="vmcast's packets passing the relay")
        assert encoder_bitrates(run) == [], run.vmcast_log()[-3000:]

        browser.call("loss", page="p", fraction=0.3)
        low = wait_for(lambda: (lambda rates: rates[-1] if rates and rates[-1] <= MAX_KBPS // 2
                                else None)(encoder_bitrates(run)),
                       40, 0.5, what=f"the encoder bitrate at {MAX_KBPS // 2} kbit/s or less")
        counts = browser.call("loss", page="p", fraction=0)["counts"]
        assert counts["dropped"] > 0, counts

        # Without loss, vmcast probes upwards again.
        wait_for(lambda: encoder_bitrates(run)[-1] >= low * 1.2, 40, 0.5,
                 what=f"the encoder bitrate rising above {low} kbit/s again")
        run.assert_alive()
        state = browser.state("p")
        assert state["phase"] == "connected", state
        print("encoder bitrates:", encoder_bitrates(run), "relay:", counts)
