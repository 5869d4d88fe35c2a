"""File changes kept as columns (plan/changelist.py): the same plan, field by field, as the
one built from plain dicts of items, at a fraction of the memory."""

from __future__ import annotations

import hashlib
import tracemalloc

import pytest

from labelsync.columns import ItemTable
from labelsync.plan.changelist import ChangeList, FileRun
from labelsync.plan.differ import build_dataset_plan
from labelsync.plan.model import DatasetPlan, Plan
from labelsync.plan.serialize import dumps_plan, loads_plan
from labelsync.state import Blob, Dataset, Desired, Item, Live, Policy, Segment, dataset_digest


def blob(data: str) -> Blob:
    return Blob(hashlib.sha1(data.encode()).hexdigest(), len(data))


def desired_items(n: int = 60, base: str = "/repo/data/") -> list[Item]:
    out = [Item(f"d/{i:03}.bin", blob(f"v{i % 45}"), source=f"{base}d/{i:03}.bin") for i in range(n)]  # 45.. repeat content
    out[3] = Item("d/003.bin", blob("v3"), {"CLASSIFICATION": {"category": "cat"}}, source=f"{base}d/003.bin")
    out[4] = Item("d/004.bin", blob("v4"), timestamp=1.5, source=f"{base}d/004.bin")
    return out


def live_items() -> list[Item]:
    out = [Item(f"d/{i:03}.bin", blob(f"v{i}" if i % 7 else f"old{i}")) for i in range(5, 30)]
    out.append(Item("d/050.bin", None))
    out.append(Item("x/held.bin", blob("v52"), {"CLASSIFICATION": {"category": "dog"}}))  # content held by a labelled row
    return out


def plans(live: list[Item] | None, *, base: str = "/repo/data/", root: str = "/repo") -> tuple[DatasetPlan, DatasetPlan]:
    out = []
    for as_table in (True, False):
        want = desired_items(base=base)
        items: object = ItemTable.from_items(want, base=base) if as_table else {i.remote_path: i for i in want}
        ds = Dataset("x", "tensorbay", "normal", segments={"s": Segment("s", items=items), "t": Segment("t", items=dict(items) if not as_table else ItemTable.from_items(want, base=base))})  # type: ignore[arg-type]
        desired = Desired(ds, Policy(), dataset_digest(ds))
        if live is None:
            state = Live(dataset=None)
        else:
            have: object = ItemTable.from_items(live) if as_table else {i.remote_path: i for i in live}
            state = Live(dataset=Dataset("x", "tensorbay", "normal", segments={"s": Segment("s", items=have)}), head="c1")  # type: ignore[arg-type]
        out.append(build_dataset_plan(desired, state, root=root))
    return out[0], out[1]


@pytest.mark.parametrize("live", [None, "live"])
def test_compact_plan_is_the_plan_of_dicts(live: str | None) -> None:
    compact, plain = plans(live_items() if live else None)
    assert isinstance(compact.changes, ChangeList) and any(isinstance(p, FileRun) for p in compact.changes.parts)
    assert list(compact.changes) == list(plain.changes)
    assert compact == plain and compact.changes == tuple(plain.changes)
    assert compact.counts() == plain.counts() and compact.upload_bytes() == plain.upload_bytes()
    assert [compact.changes[i] for i in range(-len(plain.changes), 0)] == list(plain.changes)
    assert compact.changes[5:9] == tuple(plain.changes[5:9])
    with pytest.raises(IndexError):
        compact.changes[len(plain.changes)]
    sends = [s for c in compact.changes if c.file for s in c.file.send]
    assert len(sends) == len(set(sends))  # identical content (repeats, the second segment) is sent once
    text = dumps_plan(Plan((compact,), root="/repo"))
    assert text == dumps_plan(Plan((plain,), root="/repo"))
    assert loads_plan(text).datasets[0].changes == compact.changes


def test_sources_relative_to_an_odd_root() -> None:
    for base, root in (("/repo/data/", ""), ("/else/data/", "/repo"), ("/repo/", "/repo/data")):
        compact, plain = plans(None, base=base, root=root)
        assert list(compact.changes) == list(plain.changes), (base, root)


def test_an_initial_plan_costs_few_bytes_per_file() -> None:
    n = 20_000
    items = [Item(f"d/{i:06}.bin", blob(str(i)), source=f"/repo/data/d/{i:06}.bin") for i in range(n)]
    ds = Dataset("x", "tensorbay", "normal", segments={"s": Segment("s", items=ItemTable.from_items(items, base="/repo/data/"))})
    desired = Desired(ds, Policy(), "digest")
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    plan = build_dataset_plan(desired, Live(dataset=None), root="/repo")
    retained = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    assert len(plan.changes) == n + 2 and plan.counts()["create"] == n + 2
    assert retained / n < 40, f"{retained / n:.0f} B per change"  # a Change per file is over 500


def test_a_scanned_tree_plans_compactly(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from labelsync.cli.sync import load_desired
    from tests.support.repo import write_repo

    repo = write_repo(tmp_path / "repo", "http://127.0.0.1:9", {f"f{i}.jpg": b"x%d" % i for i in range(30)})
    [want], _ = load_desired([repo])
    plan = build_dataset_plan(want, Live(dataset=None), root=str(repo))
    runs = [p for p in plan.changes.parts if isinstance(p, FileRun)]  # type: ignore[attr-defined]
    assert sum(len(r) for r in runs) == 30  # the lazy desired items are read as their table
    assert all(c.file.source == f"data/{c.file.remote_path}" for r in runs for c in r if c.file)


def test_rendering_a_compact_plan_builds_one_change_at_a_time() -> None:
    from labelsync.plan.render_markdown import render_markdown
    from labelsync.plan.render_text import render_text

    compact, plain = plans(live_items())
    for verbose in (False, True):
        assert render_text(Plan((compact,)), verbose=verbose) == render_text(Plan((plain,)), verbose=verbose)
        assert render_text(Plan((compact,)), verbose=verbose, fold=2) == render_text(Plan((plain,)), verbose=verbose, fold=2)
    assert render_markdown(Plan((compact,))) == render_markdown(Plan((plain,)))
    assert "same content as" in render_text(Plan((compact,)), verbose=True)
    n = 20_000
    items = [Item(f"d/{i:06}.bin", blob(str(i % 5000)), source=f"/repo/data/d/{i:06}.bin") for i in range(n)]
    ds = Dataset("x", "tensorbay", "normal", segments={"s": Segment("s", items=ItemTable.from_items(items, base="/repo/data/"))})
    big = Plan((build_dataset_plan(Desired(ds, Policy(), "digest"), Live(dataset=None), root="/repo"),))
    tracemalloc.start()
    text = render_text(big)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert "... and 19,980 more files" in text and "same content as" not in text
    assert peak / n < 40, f"{peak / n:.0f} B per change at the peak"  # a held Change per file is over 500
