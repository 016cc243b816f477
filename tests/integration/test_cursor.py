"""QEMU's pointer (CursorDefine + MouseSet) in the streams: as SPA_META_Cursor metadata for
consumers that ask for it, with frames that do not contain it and cursor-only buffers when it
moves; drawn into the frames for consumers that do not; and as --cursor forces."""
from __future__ import annotations

import time

from peer_streaming import streamed_peer
from vmcast_testlib import wait_for

RED = (255, 0, 0)
BLACK = (0, 0, 0)


def show_black_picture_and_red_cursor(run):
    result, picture = run.send("scanout width=64 height=48 pattern=solid:000000")
    assert result["ok"], result
    run.wait_picture(picture, what="black picture")
    assert run.peer.command("cursor width=8 height=8 hot_x=2 hot_y=2 pattern=solid:ffff0000")["ok"]
    assert run.peer.command("mouse-set x=20 y=10 on=1")["ok"]
    return picture


def pixel(run, x, y):
    return run.consumer.latest_image().pixel(x, y) if run.consumer.pictures else None


def latest_cursor(run):
    frames = [f for f in run.consumer.frames if f.get("cursor")]
    return frames[-1] if frames else None


def test_cursor_as_metadata_for_consumers_that_ask(session, artifacts, tmp_path):
    with streamed_peer(session, artifacts, tmp_path, name="cmeta") as run:
        show_black_picture_and_red_cursor(run)
        wait_for(lambda: (latest_cursor(run) or {}).get("cursor", {}).get("x") == 20, timeout=10,
                 what="cursor metadata at x=20")
        cursor = latest_cursor(run)["cursor"]
        assert (cursor["x"], cursor["y"], cursor["hotspot"]) == (20, 10, [2, 2]), cursor
        assert cursor["bitmap"] == [8, 8] and cursor["bitmap_nonzero"], cursor
        assert cursor["bitmap_format"] == "RGBA", cursor
        # The frames themselves stay free of the pointer.
        assert pixel(run, 18, 8) == BLACK and pixel(run, 25, 15) == BLACK

        # A move alone sends a buffer with no picture: chunk size 0 and CORRUPTED, header fine.
        # Alone: after the whole pictures a new consumer gets again up to 1 s after it joins
        # (console_stream.h, kNewConsumerRepeatDelaysMs), one of which could carry the move.
        time.sleep(1.2)
        assert run.peer.command("mouse-set x=40 y=30 on=1")["ok"]
        wait_for(lambda: (latest_cursor(run) or {}).get("cursor", {}).get("x") == 40, timeout=10,
                 what="cursor metadata at x=40")
        moved = latest_cursor(run)
        assert not moved["picture"] and moved["chunk_size"] == 0, moved
        assert moved["chunk_flags"] & 1 and moved["header_flags"] == 0, moved
        run.consumer.assert_no_bad_buffers()

        # Hidden: still a valid cursor meta, with an empty bitmap.
        assert run.peer.command("mouse-set x=40 y=30 on=0")["ok"]
        wait_for(lambda: (latest_cursor(run) or {}).get("cursor", {}).get("bitmap") == [0, 0],
                 timeout=10, what="an empty cursor bitmap once the pointer is hidden")


def test_cursor_drawn_for_consumers_without_cursor_metadata(session, artifacts, tmp_path):
    with streamed_peer(session, artifacts, tmp_path, name="cdraw",
                       consumer_args=["--no-cursor-meta"]) as run:
        picture = show_black_picture_and_red_cursor(run)
        # The cursor's top-left is at the pointer minus the hot spot: (18, 8) to (25, 15).
        wait_for(lambda: pixel(run, 18, 8) == RED and pixel(run, 25, 15) == RED, timeout=10,
                 what="a red cursor at (18,8)-(25,15)")
        assert pixel(run, 17, 8) == BLACK and pixel(run, 26, 15) == BLACK
        assert run.consumer.pictures[-1]["cursor"] is None
        assert run.peer.command("mouse-set x=20 y=10 on=0")["ok"]
        run.wait_picture(picture, what="picture with the cursor hidden")


def test_cursor_mode_embedded_draws_even_for_metadata_consumers(session, artifacts, tmp_path):
    with streamed_peer(session, artifacts, tmp_path, name="cemb",
                       vmcast_args=["--cursor", "embedded"]) as run:
        show_black_picture_and_red_cursor(run)
        wait_for(lambda: pixel(run, 18, 8) == RED, timeout=10, what="the drawn cursor")
        assert all(f["cursor"] is None for f in run.consumer.frames), run.consumer.frames[-1]


def test_cursor_mode_hidden_shows_it_nowhere(session, artifacts, tmp_path):
    with streamed_peer(session, artifacts, tmp_path, name="chid",
                       vmcast_args=["--cursor", "hidden"]) as run:
        picture = show_black_picture_and_red_cursor(run)
        assert run.peer.command("update x=0 y=0 width=4 height=4 pattern=solid:000000")["ok"]
        run.wait_picture(picture, what="the picture, without any pointer")
        assert all(f["cursor"] is None for f in run.consumer.frames)
