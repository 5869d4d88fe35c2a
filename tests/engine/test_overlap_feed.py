"""Overlap.feed: the blobs of each digest chunk, queued once, with their paths relative to the root."""

from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path

from labelsync.engine.overlap import Overlap, provisional_plan
from labelsync.plan.model import BlobTransfer


def test_feed_queues_each_new_blob_once_relative_to_the_root(tmp_path: Path) -> None:
    plan = provisional_plan(name="d", remote="r", provider="tensorbay", kind="normal", branch="main", settings={}, tag=None)
    release = threading.Event()
    overlap = Overlap(plan, session=None, root=tmp_path, probe=lambda: (release.wait(10), None)[1])  # type: ignore[arg-type]
    a, b = hashlib.sha1(b"a").digest(), hashlib.sha1(b"b").digest()
    outside = os.path.join(os.path.dirname(tmp_path), "elsewhere", "x.bin")  # not under the root as given
    try:
        overlap.feed([str(tmp_path / "data" / "1.bin"), str(tmp_path / "data" / "sub" / "2.bin")], a + b, [1, 2])
        overlap.feed([str(tmp_path / "data" / "copy.bin"), outside], a + hashlib.sha1(b"c").digest(), [1, 3])
        with overlap._ready:
            queued = overlap._take(2) + overlap._take(10)  # a chunk split across rounds keeps its order
    finally:
        release.set()
    assert queued == [
        BlobTransfer(a.hex(), 1, os.path.join("data", "1.bin")),
        BlobTransfer(b.hex(), 2, os.path.join("data", "sub", "2.bin")),
        BlobTransfer(hashlib.sha1(b"c").hexdigest(), 3, os.path.relpath(outside, tmp_path)),
    ]  # the copy of a is not queued again
    assert overlap.engaged() is False  # the probe found the dataset (None): nothing was opened
