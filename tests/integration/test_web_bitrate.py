"""vmcast's bitrate adaptation under real packet loss: the page's media goes through a lossy UDP
relay in the browser driver (tests/web/lossy-relay.mjs; this kernel has no netem), which drops
a chosen fraction of vmcast's RTP packets. vmcast must lower the encoder's bitrate from the
page's RTCP receiver reports while packets are lost, and raise it again once they are not: the
bitrate the page's status line shows falls further than the loss alone explains, then rises.

Meson runs this file inside a network namespace that has only loopback (unshare --net).
"""
from __future__ import annotations

import threading
import time

from vmcast_testlib import wait_for
from web_page import browser, console_url, served_peer, web  # noqa: F401

MAX_KBPS = 2000


class PageBitrate:
    """The bitrate the page's status line shows: what it received in the last second."""

    def __init__(self, driver, page: str):
        self.browser, self.page = driver, page
        self.readings: list[int] = []

    def now(self, seconds: int = 3) -> float:
        """The mean of `seconds` readings, a second apart: one reading swings with the picture."""
        readings = []
        for _ in range(seconds):
            time.sleep(1)
            readings.append(self.browser.state(self.page)["kbps"])
        self.readings += readings
        return sum(readings) / len(readings)

    def wait(self, condition, what: str, timeout: float = 40) -> None:
        try:
            wait_for(lambda: condition(self.now()), timeout, 0, what=what)
        except AssertionError as exc:
            raise AssertionError(f"{exc}; the page's readings: {self.readings}") from None


def test_bitrate_falls_with_loss_and_recovers(session, artifacts, tmp_path, web, browser):
    port, args = web
    capped = (port, [*args, "--web-bitrate", str(MAX_KBPS)])
    with served_peer(session, artifacts, tmp_path, capped, "lossy") as run:
        browser.open("p", console_url(port, "lossy"), lossy=True)
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
        wait_for(lambda: browser.state("p")["kbps"] > 0, 10, what="the page's first bitrate")
        bitrate = PageBitrate(browser, "p")
        before = bitrate.now()
        assert browser.call("loss", page="p", fraction=0)["counts"]["dropped"] == 0
        assert before > 0, bitrate.readings

        # 30 % lost alone leaves the page 70 % of what it got; vmcast halving its bitrate (or
        # more) leaves it 35 % or less.
        browser.call("loss", page="p", fraction=0.3)
        bitrate.wait(lambda kbps: kbps <= before * 0.4,
                     f"the page's bitrate at 40 % of {before:.0f} kbit/s or less")
        counts = browser.call("loss", page="p", fraction=0)["counts"]
        assert counts["dropped"] > 0, counts

        # Without loss, vmcast probes upwards again: at first the page gets all of the lowered
        # bitrate, then more.
        low = bitrate.now()
        bitrate.wait(lambda kbps: kbps >= low * 1.3,
                     f"the page's bitrate 30 % above {low:.0f} kbit/s")
        run.assert_alive()
        state = browser.state("p")
        assert state["phase"] == "connected", state
        print("page bitrates:", bitrate.readings, "relay:", counts)
