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
