"""A shard's share of the plan (engine/shards.py ``share_plan``) keeps the desired and live
tables as columns and the plan's file changes as compact runs: the same changes as a plan
of the selected items held as dicts."""

from __future__ import annotations

import hashlib
import tracemalloc
from dataclasses import replace
from pathlib import Path

from labelsync.columns import ItemTable
from labelsync.engine.shards import share_plan
from labelsync.engine.shardspec import shard_of
from labelsync.plan.changelist import ChangeList, FileRun
from labelsync.plan.differ import build_dataset_plan
from labelsync.plan.model import Kind
from labelsync.state import Blob, Dataset, Desired, Item, Live, Policy, Segment
from tests.memory.test_compact_plan import desired_items, live_items


def _sides(want: list[Item], have: list[Item] | None, *, tables: bool) -> tuple[Desired, Live]:
    def items(rows: list[Item], base: str | None) -> object:
        return ItemTable.from_items(rows, base=base) if tables else {i.remote_path: i for i in rows}

    ds = Dataset("x", "tensorbay", "normal", segments={"s": Segment("s", items=items(want, "/repo/data/"))})  # type: ignore[arg-type]
    live = Live(dataset=None) if have is None else Live(
        dataset=Dataset("x", "tensorbay", "normal", segments={"s": Segment("s", items=items(have, None))}), head="c1",  # type: ignore[arg-type]
    )
    return Desired(ds, Policy(), "d"), live


def test_a_share_plan_is_the_plan_of_the_selected_items() -> None:
    for have in (None, live_items()):
        desired, live = _sides(desired_items(), have, tables=True)
        for index in (1, 2, 3):
            keep = lambda path, index=index: shard_of(path, 3) == index  # noqa: E731
            share = share_plan(desired, live, keep, Path("/repo"), lambda kind: kind in (Kind.FILE, Kind.LABEL))
            assert isinstance(share.changes, ChangeList) and any(isinstance(p, FileRun) for p in share.changes.parts)
            want = [i for i in desired_items() if keep(i.remote_path)]
            plain_desired, plain_live = _sides(want, None if have is None else [i for i in have if keep(i.remote_path)], tables=False)
            plain = build_dataset_plan(replace(plain_desired, digest=share.desired_digest), plain_live, root="/repo")
            assert list(share.changes) == [c for c in plain.changes if c.kind in (Kind.FILE, Kind.LABEL)]
            rest = share_plan(desired, live, lambda _: False, Path("/repo"), lambda kind: kind not in (Kind.FILE, Kind.LABEL))
            assert all(c.kind not in (Kind.FILE, Kind.LABEL) for c in rest.changes)


def test_a_share_of_20k_files_costs_little_per_file() -> None:
    n = 20_000
    rows = [Item(f"d/{i:06}.bin", Blob(hashlib.sha1(str(i).encode()).hexdigest(), 256), source=f"/repo/data/d/{i:06}.bin") for i in range(n)]
    desired, live = _sides(rows, None, tables=True)
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    share = share_plan(desired, live, lambda path: shard_of(path, 2) == 1, Path("/repo"), lambda kind: kind is Kind.FILE)
    retained = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    assert n // 3 < len(share.changes) < 2 * n // 3
    assert retained / len(share.changes) < 80, f"{retained / len(share.changes):.0f} B per change"  # 46 B; dicts of items and a tuple of changes: 553
