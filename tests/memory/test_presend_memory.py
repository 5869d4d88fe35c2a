"""The pre-sends' bookkeeping (engine/overlap.py, engine/presend.py) at a fraction of the
memory of checksum strings and queued transfers, with the same answers."""

from __future__ import annotations

import hashlib
import threading
import tracemalloc
from pathlib import Path

from labelsync.engine import presend as presend_module
from labelsync.engine.overlap import Overlap, provisional_plan
from labelsync.engine.presend import Presend, planned_blobs
from labelsync.plan.model import Action, BlobTransfer, Change, DatasetPlan, FileChange, Kind
from labelsync.state import Blob

N = 20_000


def _sums(n: int) -> bytes:
    return b"".join(hashlib.sha1(str(i).encode()).digest() for i in range(n))


def test_overlap_feed_of_20k_files_holds_under_240_bytes_per_file(tmp_path: Path) -> None:
    plan = provisional_plan(name="d", remote="r", provider="tensorbay", kind="normal", branch="main", settings={}, tag=None)
    release = threading.Event()
    overlap = Overlap(plan, session=None, root=tmp_path, probe=lambda: (release.wait(10), None)[1])  # type: ignore[arg-type]
    paths = [str(tmp_path / "data" / f"dir{i % 100:03}" / f"file-{i:07}.bin") for i in range(N)]
    sums, sizes = _sums(N), [256] * N
    try:
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        for k in range(0, N, 1000):
            overlap.feed(paths[k : k + 1000], sums[20 * k : 20 * k + 20000], sizes[k : k + 1000])
        held = tracemalloc.get_traced_memory()[0] - before
        tracemalloc.stop()
        with overlap._ready:
            first = overlap._take(3)
    finally:
        release.set()
    assert first[0] == BlobTransfer(sums[:20].hex(), 256, str(Path("data/dir000/file-0000000.bin")))
    assert held / N < 240, f"{held / N:.0f} B per fed file"  # 197 B; checksum strings and queued transfers: 336 B


def _plan(n: int) -> DatasetPlan:
    changes = []
    for i in range(n):
        checksum = hashlib.sha1(str(i % (n // 2)).encode()).hexdigest()  # every content twice
        after = FileChange(f"f{i}.bin", Blob(checksum, 4), source=f"data/f{i}.bin", send=(checksum,) if i < n // 2 else ())
        changes.append(Change(Action.CREATE, Kind.FILE, f"dataset.d/segment./file.f{i}.bin", "", None, after, 4 if i < n // 2 else 0))
    return DatasetPlan(name="d", remote="r", provider="tensorbay", kind="normal", base="c1", desired_digest="x", changes=tuple(changes))


def test_files_sent_counts_each_sent_content_once_and_can_be_asked_again() -> None:
    plan = _plan(10)
    pre = Presend(plan=plan, session=None)  # type: ignore[arg-type]
    sums = [hashlib.sha1(str(i).encode()).hexdigest() for i in range(5)]
    errors = pre._count([(sums[0], None, True), (sums[1], None, False), (sums[2], ValueError("x"), True), ("not-sha1", None, True)])
    assert len(errors) == 1
    assert sums[0] in pre.stored and sums[1] in pre.stored and sums[2] not in pre.stored and "not-sha1" in pre.stored
    assert pre.files_sent == 1 and pre.files_sent == 1  # sums[1] was already there; not-sha1 is no data file
    pre._count([(sums[0], None, False)])  # reported again as held: still sent once
    assert pre.files_sent == 1


def test_planned_blobs_are_given_in_bounded_batches_each_once(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    plan = _plan(40)
    given = list(planned_blobs(plan, None))
    assert [b.checksum for b in given] == [hashlib.sha1(str(i).encode()).hexdigest() for i in range(20)]
    batches: list[int] = []
    monkeypatch.setattr(presend_module, "BATCH", 7)
    pre = Presend(plan=plan, session=None)  # type: ignore[arg-type]
    pre.send_blobs = lambda blobs: batches.append(len(blobs))  # type: ignore[method-assign]
    pre._send()
    assert batches == [7, 7, 6]
