"""What a new user reads in a plan: no branch for Deepen, notes of a new dataset are
created, and a file whose bytes are not sent shows its size and why."""

from __future__ import annotations

from labelsync.plan.differ import build_dataset_plan
from labelsync.plan.model import Action, Kind, Plan
from labelsync.plan.render_markdown import render_markdown
from labelsync.plan.render_text import render_text
from labelsync.plan.serialize import dumps_plan, loads_plan
from labelsync.providers.base import stale_plan
from labelsync.providers.registry import PROVIDERS
from labelsync.state import Blob, Dataset, Desired, Item, Live, Policy, Segment, dataset_digest

A = Blob("a" * 40, 1536)


def _desired(provider: str = "tensorbay", kind: str = "normal", notes: dict | None = None, items: tuple[Item, ...] = ()) -> Desired:
    ds = Dataset(
        name="city",
        provider=provider,
        kind=kind,
        notes=notes or {},
        segments={"train": Segment(name="train", items={i.remote_path: i for i in items})},
    )
    return Desired(dataset=ds, policy=Policy(), digest=dataset_digest(ds), manifest="m.yaml")


def _item(path: str, blob: Blob = A) -> Item:
    return Item(remote_path=path, blob=blob, source=f"/repo/data/{path}")


def test_deepen_plans_and_stale_errors_name_no_branch() -> None:
    deepen = PROVIDERS["deepen"].capabilities
    planned = build_dataset_plan(
        _desired("deepen", "images", items=(_item("a.jpg"),)), Live(dataset=None), root="/repo", capabilities=deepen
    )
    assert planned.branch == ""
    text = render_text(Plan(datasets=(planned,)))
    assert "dataset city (deepen remote default)" in text and "branch" not in text
    assert loads_plan(dumps_plan(Plan(datasets=(planned,)))).datasets[0].branch == ""
    message = stale_plan(planned, "ds-2").message
    assert "branch" not in message and "dataset 'city' moved from nothing (no dataset) to ds-2" in message

    versioned = PROVIDERS["tensorbay"].capabilities
    tensorbay = build_dataset_plan(_desired(items=(_item("a.jpg"),)), Live(dataset=None), root="/repo", capabilities=versioned)
    assert "(tensorbay remote default, branch main)" in render_text(Plan(datasets=(tensorbay,)))
    assert "branch 'main'" in stale_plan(tensorbay, "c1").message


def test_notes_of_a_dataset_being_created_are_created_not_updated() -> None:
    want = _desired(notes={"isContinuous": True, "binPointCloudFields": None})
    planned = build_dataset_plan(want, Live(dataset=None), root="/repo")
    notes = [c for c in planned.changes if c.kind is Kind.NOTES]
    assert [c.action for c in notes] == [Action.CREATE]
    assert planned.counts()["update"] == 0
    live = Live(dataset=Dataset(name="city", provider="tensorbay", kind="normal", segments={"train": Segment("train")}), head="c1")
    again = build_dataset_plan(want, live, root="/repo")
    assert [c.action for c in again.changes if c.kind is Kind.NOTES] == [Action.UPDATE]


def test_a_deduplicated_or_remote_file_shows_its_size_and_why_nothing_is_sent() -> None:
    want = _desired(items=(_item("a.jpg"), _item("copy.jpg"), _item("old.jpg", Blob("b" * 40, 10))))
    live = Live(
        dataset=Dataset(
            name="city", provider="tensorbay", kind="normal",
            segments={"train": Segment("train", items={"elsewhere.jpg": Item("elsewhere.jpg", Blob("b" * 40, 10))})},
        ),
        head="c1",
    )
    the_plan = Plan(datasets=(build_dataset_plan(want, live, root="/repo"),))
    text = render_text(the_plan)
    assert "+ file.a.jpg  (1.5 KiB to upload)" in text
    assert "+ file.copy.jpg  (1.5 KiB, same content as file.a.jpg, sent once)" in text
    assert "+ file.old.jpg  (10 B, content already on the remote, not sent)" in text
    markdown = render_markdown(the_plan)
    assert "file.copy.jpg  (1.5 KiB, same content as file.a.jpg, sent once)" in markdown
