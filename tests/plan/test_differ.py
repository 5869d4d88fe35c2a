"""Table tests of the pure differ: literal desired/live states in, literal changes out."""

from __future__ import annotations

import pytest

from labelsync.plan.differ import build_dataset_plan, catalog_breaks
from labelsync.plan.model import Action, Kind
from labelsync.providers.contract import Capabilities
from labelsync.state import Blob, Dataset, Desired, Item, Live, MaskFile, Policy, Segment, dataset_digest

A = Blob("a" * 40, 10)
B = Blob("b" * 40, 20)
M = Blob("c" * 40, 5)
CATALOG = {"BOX2D": {"categories": [{"name": "car"}, {"name": "bus"}], "attributes": [{"name": "occluded", "type": "boolean"}]}}
BOX = {"BOX2D": [{"box2d": {"xmin": 1, "ymin": 2, "xmax": 3, "ymax": 4}, "category": "car"}]}


def item(path: str, blob: Blob | None = A, label: dict | None = None, **kw) -> Item:
    return Item(remote_path=path, blob=blob, label=label or {}, source=f"/repo/data/{path}", **kw)


def ds(*items: Item, catalog: dict | None = None, segment: str = "train", provider: str = "tensorbay", kind: str = "normal") -> Dataset:
    return Dataset(
        name="city",
        provider=provider,
        kind=kind,
        catalog=CATALOG if catalog is None else catalog,
        segments={segment: Segment(name=segment, items={i.remote_path: i for i in items})},
    )


def desired(dataset: Dataset, **policy: bool) -> Desired:
    return Desired(dataset=dataset, policy=Policy(**policy), digest=dataset_digest(dataset), manifest="m.yaml")


def kinds(plan) -> list[tuple[str, str, str]]:
    return [(c.action.value, c.kind.value, c.address) for c in plan.changes]


def test_new_dataset_creates_everything_and_counts_bytes_once():
    want = desired(ds(item("a.jpg", A), item("copy.jpg", A), item("b.jpg", B)))
    plan = build_dataset_plan(want, Live(dataset=None), root="/repo")
    assert kinds(plan) == [
        ("create", "dataset", "dataset.city"),
        ("create", "catalog", "dataset.city/catalog"),
        ("create", "segment", "dataset.city/segment.train"),
        ("create", "file", "dataset.city/segment.train/file.a.jpg"),
        ("create", "file", "dataset.city/segment.train/file.b.jpg"),
        ("create", "file", "dataset.city/segment.train/file.copy.jpg"),
    ]
    assert plan.upload_bytes() == 30  # identical content under two paths is sent once
    files = {c.after["remotePath"]: c for c in plan.changes if c.kind is Kind.FILE}
    assert files["a.jpg"].after["source"] == "data/a.jpg"
    assert files["a.jpg"].after["send"] == ["a" * 40]
    assert files["copy.jpg"].after["send"] == []


def test_recorded_digest_equal_is_a_proven_noop_without_live_listing():
    want = desired(ds(item("a.jpg")))
    plan = build_dataset_plan(want, Live(dataset=None, head="c1", recorded_digest=want.digest, complete=False))
    assert plan.changes == () and plan.noop_proven


def test_same_state_has_no_changes():
    want = desired(ds(item("a.jpg", label=BOX)))
    live = Live(dataset=ds(item("a.jpg", label=BOX)), head="c1")
    assert build_dataset_plan(want, live).changes == ()


def test_changed_content_is_one_file_update_and_label_change_sends_no_bytes():
    want = desired(ds(item("a.jpg", B), item("b.jpg", A, label=BOX)))
    live = Live(dataset=ds(item("a.jpg", A), item("b.jpg", A)), head="c1")
    plan = build_dataset_plan(want, live)
    assert kinds(plan) == [
        ("update", "file", "dataset.city/segment.train/file.a.jpg"),
        ("update", "label", "dataset.city/segment.train/label.b.jpg"),
    ]
    file_change, label_change = plan.changes
    assert file_change.upload_bytes == 20
    assert label_change.upload_bytes == 0


def test_content_already_on_remote_is_not_sent_again():
    want = desired(ds(item("a.jpg", A), item("moved.jpg", B)))
    live = Live(dataset=ds(item("a.jpg", A), item("old.jpg", B)), head="c1")
    plan = build_dataset_plan(want, live)
    assert [(c.kind.value, c.upload_bytes) for c in plan.changes] == [("file", 0)]


def test_removed_file_is_deleted_only_with_prune():
    live = Live(dataset=ds(item("a.jpg"), item("gone.jpg", B)), head="c1")
    keep = build_dataset_plan(desired(ds(item("a.jpg"))), live)
    assert keep.changes == ()
    assert any("1 remote file(s) not in the manifest" in w for w in keep.warnings)
    prune = build_dataset_plan(desired(ds(item("a.jpg")), prune=True), live)
    assert kinds(prune) == [("delete", "file", "dataset.city/segment.train/file.gone.jpg")]
    assert prune.changes[0].breaking


def test_extra_segment_deleted_only_with_prune():
    live_ds = Dataset(name="city", provider="tensorbay", kind="normal", catalog=CATALOG, segments={
        "train": Segment(name="train", items={"a.jpg": item("a.jpg")}),
        "old": Segment(name="old", items={"x.jpg": item("x.jpg")}),
    })
    live = Live(dataset=live_ds, head="c1")
    assert build_dataset_plan(desired(ds(item("a.jpg"))), live).changes == ()
    plan = build_dataset_plan(desired(ds(item("a.jpg")), prune=True), live)
    assert kinds(plan) == [("delete", "segment", "dataset.city/segment.old")]


def test_catalog_breaks_enum_added_is_not_breaking_removed_is() -> None:
    base = {"BOX2D": {"categories": [{"name": "car"}], "attributes": [{"name": "c", "enum": ["red", "blue"]}]}}
    grown = {"BOX2D": {"categories": [{"name": "car"}], "attributes": [{"name": "c", "enum": ["red", "blue", "green"]}]}}
    assert catalog_breaks(base, grown) == (False, None)
    assert catalog_breaks(grown, base) == (True, "BOX2D attribute 'c' redefined")


@pytest.mark.parametrize(
    ("after", "breaking", "reason"),
    [
        ({"BOX2D": {"categories": [{"name": "car"}, {"name": "bus"}, {"name": "van"}], "attributes": [{"name": "occluded", "type": "boolean"}]}}, False, None),
        ({"BOX2D": {"categories": [{"name": "car"}], "attributes": [{"name": "occluded", "type": "boolean"}]}}, True, "BOX2D category 'bus' removed"),
        ({"BOX2D": {"categories": [{"name": "car"}, {"name": "bus"}], "attributes": [{"name": "occluded", "type": "integer"}]}}, True, "BOX2D attribute 'occluded' redefined"),
        ({"CLASSIFICATION": {"categories": [{"name": "x"}]}}, True, "label type BOX2D removed"),
    ],
)
def test_catalog_breaks(after, breaking, reason):
    assert catalog_breaks(CATALOG, after) == (breaking, reason)


def test_catalog_change_is_planned_and_flagged():
    new_catalog = {"BOX2D": {"categories": [{"name": "car"}]}}
    plan = build_dataset_plan(desired(ds(item("a.jpg"), catalog=new_catalog)), Live(dataset=ds(item("a.jpg")), head="c1"))
    assert kinds(plan) == [("update", "catalog", "dataset.city/catalog")]
    assert plan.changes[0].breaking
    assert "category 'bus' removed" in (plan.changes[0].reason or "")


def test_mask_files_are_sent_with_label_changes():
    masked = Item(remote_path="a.jpg", blob=A, label={"SEMANTIC_MASK": {"checksum": M.checksum, "fileSize": 5}}, source="/repo/a.jpg", masks={"SEMANTIC_MASK": MaskFile(M, "/repo/m/a.png")})
    want = desired(Dataset(name="city", provider="tensorbay", kind="normal", catalog=CATALOG, segments={"train": Segment(name="train", items={"a.jpg": masked})}))
    plan = build_dataset_plan(want, Live(dataset=ds(item("a.jpg")), head="c1"), root="/repo")
    (change,) = plan.changes
    assert (change.kind, change.upload_bytes) == (Kind.LABEL, 5)
    assert change.after["masks"] == {"SEMANTIC_MASK": {"checksum": M.checksum, "fileSize": 5, "source": "m/a.png"}}


def test_unverified_live_content_is_resent_and_warned():
    want = desired(ds(item("a.jpg")))
    plan = build_dataset_plan(want, Live(dataset=ds(item("a.jpg", None)), head="c1", verified=False))
    assert kinds(plan) == [("update", "file", "dataset.city/segment.train/file.a.jpg")]
    assert any("cannot be verified" in w for w in plan.warnings)


FIXED = Capabilities(content_mutable=False)
"""A provider whose content cannot change in place (Deepen's)."""


def test_immutable_content_structural_change_is_a_blocked_replace_unless_allowed():
    live = Live(dataset=ds(item("a.jpg"), provider="deepen", kind="images"), head="d1", remote_id="d1")
    want_ds = ds(item("a.jpg"), item("b.jpg", B), provider="deepen", kind="images")
    blocked = build_dataset_plan(desired(want_ds), live, capabilities=FIXED)
    assert [(c.action, c.kind) for c in blocked.changes] == [(Action.REPLACE, Kind.DATASET)]
    assert blocked.blocked and "allowReplace" in blocked.blocked[0]
    allowed = build_dataset_plan(desired(want_ds, allow_replace=True), live, capabilities=FIXED)
    assert allowed.blocked == ()
    protected = build_dataset_plan(desired(want_ds, allow_replace=True, protect=True), live, capabilities=FIXED)
    assert any("protected" in b for b in protected.blocked)


def test_immutable_content_label_only_change_is_not_a_replace():
    live = Live(dataset=ds(item("a.jpg"), provider="deepen", kind="images"), head="d1")
    plan = build_dataset_plan(desired(ds(item("a.jpg", label=BOX), provider="deepen", kind="images")), live, capabilities=FIXED)
    assert [(c.action, c.kind) for c in plan.changes] == [(Action.UPDATE, Kind.LABEL)]


def test_foreign_open_draft_is_warned():
    want = desired(ds(item("a.jpg")))
    live = Live(dataset=ds(item("a.jpg")), head="c1", open_draft={"number": 4, "title": "manual edits", "ours": False})
    plan = build_dataset_plan(want, live)
    assert any("open draft #4" in w for w in plan.warnings)


def test_masks_already_on_the_remote_are_not_sent_again():
    label = {"SEMANTIC_MASK": {"checksum": M.checksum, "fileSize": 5}}
    masked = Item(remote_path="b.jpg", blob=B, label=label, source="/repo/b.jpg", masks={"SEMANTIC_MASK": MaskFile(M, "/repo/m/b.png")})
    live_item = Item(remote_path="a.jpg", blob=A, label=label)
    want = desired(Dataset(name="city", provider="tensorbay", kind="normal", catalog=CATALOG, segments={"train": Segment(name="train", items={"a.jpg": live_item, "b.jpg": masked})}))
    live = Live(dataset=Dataset(name="city", provider="tensorbay", kind="normal", catalog=CATALOG, segments={"train": Segment(name="train", items={"a.jpg": live_item})}), head="c1")
    (change,) = build_dataset_plan(want, live).changes
    assert change.upload_bytes == B.size  # the data file only: the mask is on the remote already
    assert change.after["send"] == [B.checksum]
