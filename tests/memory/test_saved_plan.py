"""A saved plan read back (plan/serialize.py ``plan_from_lines``) keeps plain file changes as
columns, and its check against a fresh plan (engine/saved.py) walks both: ``apply PLANFILE``
stays near the memory of ``apply --auto-approve``."""

from __future__ import annotations

import hashlib
import tracemalloc
from dataclasses import replace

from labelsync.columns import ItemTable
from labelsync.engine.saved import _difference
from labelsync.plan.changelist import ChangeList, FileRun
from labelsync.plan.differ import build_dataset_plan
from labelsync.plan.model import Action, Change, DatasetPlan, FileChange, Kind, Plan
from labelsync.plan.serialize import dumps_plan, plan_from_lines
from labelsync.state import Blob, Dataset, Desired, Item, Live, Policy, Segment
from tests.memory.test_compact_plan import live_items, plans

N = 20_000


def _read(plan: DatasetPlan, root: str = "/repo") -> DatasetPlan:
    return plan_from_lines(dumps_plan(Plan((plan,), root=root)).splitlines(keepends=True)).datasets[0]


def test_a_plan_read_back_is_the_plan_written_with_its_file_changes_as_runs() -> None:
    for live in (None, live_items()):
        compact, plain = plans(live)
        back = _read(plain)
        assert isinstance(back.changes, ChangeList) and any(isinstance(p, FileRun) for p in back.changes.parts)
        assert list(back.changes) == list(plain.changes) and back == plain
        assert back.counts() == plain.counts() and back.upload_bytes() == plain.upload_bytes()
        assert dumps_plan(Plan((back,), root="/repo")) == dumps_plan(Plan((plain,), root="/repo"))
        assert _difference(back, compact) is None
    for base, root in (("/else/data/", "/repo"), ("/repo/", "/repo/data")):
        _, plain = plans(None, base=base, root=root)
        assert list(_read(plain, root).changes) == list(plain.changes), (base, root)


def test_changes_a_run_cannot_rebuild_exactly_are_kept_as_they_were_saved() -> None:
    sha = hashlib.sha1(b"x").hexdigest()
    odd = [
        FileChange("a.bin", Blob(sha.upper(), 1), source="data/a.bin", send=(sha.upper(),)),  # not lower-case hex
        FileChange("b.bin", Blob(sha, 1), source="data/b.bin", send=()),
        FileChange("c.bin", Blob(sha, 1), {"CLASSIFICATION": {"category": "x"}}, source="data/c.bin"),
        FileChange("d.bin", Blob(sha, 1), source="elsewhere", send=(sha,)),  # a source not ending in the path
        FileChange("e.bin", Blob(sha, 1), timestamp=0.0, source="data/e.bin"),
    ]
    changes = [Change(Action.CREATE, Kind.FILE, f"dataset.d/segment.s/file.{f.remote_path}", "s", None, f, 1 if f.send else 0) for f in odd]
    changes.insert(2, Change(Action.CREATE, Kind.FILE, "dataset.d/segment.s/file.z.bin", "s", None, odd[1], 5))  # bytes not its size
    plan = DatasetPlan(name="d", remote="r", provider="tensorbay", kind="normal", base="c1", desired_digest="x", changes=tuple(changes))
    back = _read(plan)
    assert list(back.changes) == changes
    assert sum(len(p) for p in back.changes.parts if isinstance(p, FileRun)) == 1  # only b.bin is plain  # type: ignore[attr-defined]


def _big_plan() -> DatasetPlan:
    items = [Item(f"d/{i:06}.bin", Blob(hashlib.sha1(str(i).encode()).hexdigest(), 256), source=f"/repo/data/d/{i:06}.bin") for i in range(N)]
    ds = Dataset("x", "tensorbay", "normal", segments={"s": Segment("s", items=ItemTable.from_items(items, base="/repo/data/"))})
    return build_dataset_plan(Desired(ds, Policy(), "digest"), Live(dataset=None), root="/repo")


def test_a_20k_file_plan_read_back_costs_little_per_change() -> None:
    lines = dumps_plan(Plan((_big_plan(),), root="/repo")).splitlines(keepends=True)
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    back = plan_from_lines(lines)
    retained = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    assert len(back.datasets[0].changes) == N + 2
    assert retained / N < 150, f"{retained / N:.0f} B per change"  # 115 B; a tuple of Change objects: 767


def test_checking_a_20k_file_saved_plan_indexes_neither_plan() -> None:
    fresh = _big_plan()
    saved = _read(fresh)
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    assert _difference(saved, fresh) is None
    peak = tracemalloc.get_traced_memory()[1] - before
    tracemalloc.stop()
    assert peak / N < 20, f"{peak / N:.0f} B per change at the peak"  # 0.4 B; two address -> JSON dicts: 1,422
    changes = list(saved.changes)
    k = N // 2
    edited = changes[:k] + [replace(changes[k], upload_bytes=changes[k].upload_bytes + 1)] + changes[k + 1 :]
    assert _difference(replace(saved, changes=tuple(edited)), fresh) == f"change {changes[k].address} was altered"
    assert _difference(replace(saved, changes=tuple(changes[:k] + changes[k + 1 :])), fresh) == f"change {changes[k].address} is missing"
