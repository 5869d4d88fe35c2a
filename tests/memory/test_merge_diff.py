"""The differ merges two column tables row by row: the same plan as from dicts of items."""

from __future__ import annotations

import hashlib

import pytest

from labelsync.columns import ItemTable
from labelsync.plan.differ import LiveContent, build_dataset_plan
from labelsync.state import Blob, Dataset, Desired, Item, Live, Policy, Segment, dataset_digest


def blob(data: str) -> Blob:
    return Blob(hashlib.sha1(data.encode()).hexdigest(), len(data))


def desired_items() -> list[Item]:
    out = [Item(f"d/{i:03}.bin", blob(f"v{i}"), source=f"/repo/data/d/{i:03}.bin") for i in range(40)]
    out[3] = Item("d/003.bin", blob("v3"), {"CLASSIFICATION": {"category": "cat"}}, source="/repo/data/d/003.bin")
    out.append(Item("e/dup.bin", blob("v5"), source="/repo/data/e/dup.bin"))  # content the remote holds elsewhere
    return out


def live_items() -> list[Item]:
    out = [Item(f"d/{i:03}.bin", blob(f"v{i}" if i % 7 else f"old{i}")) for i in range(5, 45)]
    out[10] = Item("d/015.bin", blob("v15"), {"CLASSIFICATION": {"category": "dog"}})  # a label to drop
    out.append(Item("d/020.bin", None))  # a server without checksums for this one
    return out


def plan(items_of: object, prune: bool) -> list[object]:
    want_items, have_items = desired_items(), live_items()
    if items_of is ItemTable:
        want_map: object = ItemTable.from_items(want_items, base="/repo/data/")
        have_map: object = ItemTable.from_items(have_items)
    else:
        want_map = {i.remote_path: i for i in want_items}
        have_map = {i.remote_path: i for i in have_items}
    ds = Dataset("x", "tensorbay", "normal", segments={"s": Segment("s", items=want_map)})  # type: ignore[arg-type]
    live = Dataset("x", "tensorbay", "normal", segments={"s": Segment("s", items=have_map)})  # type: ignore[arg-type]
    want = Desired(ds, Policy(prune=prune), dataset_digest(ds, prune=prune))
    return list(build_dataset_plan(want, Live(dataset=live, head="c1"), root="/repo").changes)


@pytest.mark.parametrize("prune", [False, True])
def test_tables_plan_exactly_as_dicts(prune: bool) -> None:
    from_tables, from_dicts = plan(ItemTable, prune), plan(dict, prune)
    assert from_tables == from_dicts
    assert len(from_dicts) > 10  # creates, updates, a label change, deletes with prune


def test_live_content_answers_like_a_set() -> None:
    items = live_items()
    table = ItemTable.from_items(items)
    known = LiveContent([Segment("s", items=table)])
    held = {i.blob.checksum for i in {i.remote_path: i for i in items}.values() if i.blob is not None}
    assert len(held) == len(table) - 1  # d/020.bin has no checksum
    assert all(c in known for c in held)
    assert blob("v1").checksum not in known and "not hex" not in known and "A" * 40 not in known
