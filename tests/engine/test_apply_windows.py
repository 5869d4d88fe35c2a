"""The engine takes the plan's file changes a window at a time: a window boundary neither
loses nor duplicates a file, and identical content across windows is sent once."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from labelsync.columns import ItemTable
from labelsync.engine import apply as engine
from labelsync.engine.apply import apply_dataset
from labelsync.plan.changelist import ChangeList
from labelsync.plan.differ import build_dataset_plan
from labelsync.providers.session import ApplyOptions, NullEvents
from labelsync.state import Blob, Dataset, Desired, Item, Live, MaskFile, Policy, Segment, dataset_digest
from tests.engine.test_apply_engine import Recording


def blob(data: str) -> Blob:
    return Blob(hashlib.sha1(data.encode()).hexdigest(), len(data))


def plan_of(n: int) -> tuple[Desired, object]:
    items = [Item(f"f{i:03}", blob(f"c{i % 7}"), source=f"/r/data/f{i:03}") for i in range(n)]  # 7 contents, many windows
    mask = MaskFile(blob("mask"), "/r/masks/m.png")
    items[9] = Item("f009", blob("c2"), {"CLASSIFICATION": {"category": "x"}}, masks={"SEMANTIC_MASK": mask}, source="/r/data/f009")
    segs = {s: Segment(s, items=ItemTable.from_items(items, base="/r/data/")) for s in ("a", "b")}
    ds = Dataset("d", "tensorbay", "normal", segments=segs)
    desired = Desired(ds, Policy(), dataset_digest(ds))
    return desired, build_dataset_plan(desired, Live(dataset=None), root="/r")


@pytest.mark.parametrize("window", [1, 3, 7, 10_000])
def test_no_file_lost_or_duplicated_at_a_window_boundary(window: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engine, "WINDOW", window)
    windows: list[int] = []
    real = engine.transfer_segment

    def counted(session, segment, changes, **kw):  # type: ignore[no-untyped-def]
        windows.append(len(changes))
        return real(session, segment, changes, **kw)

    monkeypatch.setattr(engine, "transfer_segment", counted)
    _, plan = plan_of(40)
    assert isinstance(plan.changes, ChangeList) and len(plan.changes.parts) > 2  # runs around the masked file
    session = Recording()
    result = apply_dataset(session, plan, ApplyOptions(root=Path(".")), NullEvents())
    registered = [(c[1], p) for c in session.calls if c[0] == "register" for p in c[2]]
    assert sorted(registered) == sorted((s, f"f{i:03}") for s in "ab" for i in range(40))
    sent = [b for c in session.calls if c[0] == "transfer" for b in c[2]]
    assert len(sent) == 8  # 7 contents and the mask, each once over both segments
    assert sum(windows) == 80 and max(windows) == min(window, 40) and len(windows) == 2 * -(-40 // min(window, 40))
    assert (result.files_registered, result.files_uploaded) == (80, 7)
    assert result.not_sent == ("73 file(s) with the same content as another file of the plan, sent once",)


def test_a_resumed_session_skips_what_it_holds_in_every_window(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engine, "WINDOW", 4)
    _, plan = plan_of(20)
    held = {"a": {f"f{i:03}": Item(f"f{i:03}", blob(f"c{i % 7}")) for i in range(0, 20, 2)}}  # every other file of a
    session = Recording(held=held)
    result = apply_dataset(session, plan, ApplyOptions(root=Path(".")), NullEvents())
    registered = sorted((c[1], p) for c in session.calls if c[0] == "register" for p in c[2])
    want = [("a", f"f{i:03}") for i in range(20) if i % 2] + [("b", f"f{i:03}") for i in range(20)]
    assert registered == sorted(want) and result.files_registered == len(want)
