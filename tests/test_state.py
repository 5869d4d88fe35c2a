"""The digest's fast item encoding equals the generic canonical encoding, value for value."""

from __future__ import annotations

import pytest

from labelsync.state import (
    Blob,
    Dataset,
    Item,
    Segment,
    canonical_json,
    dataset_digest,
    item_fingerprint,
    item_line,
)

ITEMS = [
    Item("a.jpg", Blob("a" * 40, 10)),
    Item("dir/ü \"q\".jpg", None, {"BOX2D": [{"box2d": {"xmin": 1, "ymin": 2.5, "xmax": 3, "ymax": 4}}]}, timestamp=1.5),
    Item("cam/0001.jpg", Blob("b" * 40, 0), {}, timestamp=1700000000.123, frame_id="01HF7YAT3VRM79QK1JB62WP7SY", sensor_name="cam"),
    Item("x", Blob("c" * 40, 7), {"CLASSIFICATION": {"category": "day"}}, timestamp=10),
]


@pytest.mark.parametrize("item", ITEMS)
def test_item_line_is_the_canonical_fingerprint(item: Item) -> None:
    assert item_line(item) == canonical_json(item_fingerprint(item))


def test_digest_depends_on_content_not_on_source() -> None:
    one = Dataset("d", "tensorbay", "normal", segments={"s": Segment("s", items={i.remote_path: i for i in ITEMS})})
    moved = Dataset("d", "tensorbay", "normal", segments={"s": Segment("s", items={
        i.remote_path: Item(i.remote_path, i.blob, i.label, i.timestamp, i.frame_id, i.sensor_name, source="/elsewhere") for i in ITEMS
    })})
    changed = Dataset("d", "tensorbay", "normal", segments={"s": Segment("s", items={"a.jpg": Item("a.jpg", Blob("d" * 40, 10))})})
    assert dataset_digest(one) == dataset_digest(moved)
    assert dataset_digest(one) != dataset_digest(changed)
    assert dataset_digest(one).startswith("sha256:")


def test_prune_changes_the_digest_and_segment_description_does_not() -> None:
    one = Dataset("d", "tensorbay", "normal", segments={"s": Segment("s", items={"a.jpg": ITEMS[0]}, description="old")})
    described = Dataset("d", "tensorbay", "normal", segments={"s": Segment("s", items={"a.jpg": ITEMS[0]}, description="new")})
    assert dataset_digest(one) == dataset_digest(described)
    assert dataset_digest(one, prune=True) != dataset_digest(one)
