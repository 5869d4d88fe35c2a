"""Overlap.start: the look-up runs before any digest chunk; once declined, nothing starts again."""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path

from labelsync.engine.overlap import Overlap, provisional_plan


def test_start_runs_the_look_up_before_any_chunk_and_a_decline_stops_the_feed(tmp_path: Path) -> None:
    plan = provisional_plan(name="d", remote="r", provider="tensorbay", kind="normal", branch="main", settings={}, tag=None)
    looked_up = threading.Event()

    def probe() -> None:
        looked_up.set()
        return None  # the dataset exists: the overlap declines

    overlap = Overlap(plan, session=None, root=tmp_path, probe=probe)  # type: ignore[arg-type]
    assert overlap.start() is True
    assert looked_up.wait(10)  # no chunk was fed
    assert overlap.engaged() is False
    assert overlap.start() is False  # declined: not started again
    overlap.feed([str(tmp_path / "a.bin")], hashlib.sha1(b"a").digest(), [1])
    assert list(overlap._queue) == [] and not overlap.blobs  # nothing queued, nothing seen


class Opens:
    """A session that records whether it was opened (nothing else is called in these tests)."""

    def __init__(self) -> None:
        self.opened = threading.Event()

    def open(self) -> None:
        self.opened.set()
        raise RuntimeError("opened")  # the pre-send stops here


def _absent_overlap(tmp_path: Path, session: Opens) -> Overlap:
    from labelsync.state import Live

    plan = provisional_plan(name="d", remote="r", provider="tensorbay", kind="normal", branch="main", settings={}, tag=None)
    return Overlap(plan, session=session, root=tmp_path, probe=lambda: Live(dataset=None))  # type: ignore[arg-type]


def test_streams_looks_up_without_opening_and_an_overlap_never_started_opens_nothing(tmp_path: Path) -> None:
    session = Opens()
    overlap = _absent_overlap(tmp_path, session)
    assert overlap.streams(str(tmp_path)) is True  # absent: leave its hashing to the cache
    assert overlap.engaged() is False  # nothing fed, never started: the plain apply goes on
    assert overlap._thread is not None
    overlap._thread.join(10)
    assert not overlap._thread.is_alive() and not session.opened.is_set()


def test_a_cancel_after_the_look_up_opens_nothing_and_a_start_opens(tmp_path: Path) -> None:
    session = Opens()
    cancelled = _absent_overlap(tmp_path, session)
    assert cancelled.streams(str(tmp_path)) is True
    cancelled.cancel(RuntimeError("validation failed"))  # returns: the thread ends without opening
    assert not session.opened.is_set()

    started = _absent_overlap(tmp_path, session)
    assert started.streams(str(tmp_path)) is True and started.start() is True
    assert session.opened.wait(10)
