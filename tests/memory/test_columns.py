"""ItemTable / TableBuilder: columns that read back as exactly the items they were made of."""

from __future__ import annotations

import hashlib

from labelsync.columns import ItemTable, TableBuilder
from labelsync.state import Blob, Dataset, Item, MaskFile, Segment, dataset_digest


def blob(data: str) -> Blob:
    return Blob(hashlib.sha1(data.encode()).hexdigest(), len(data))


ITEMS = [
    Item("b/2.jpg", blob("two")),
    Item("a.jpg", blob("one"), {"BOX2D": [{"category": "car"}]}, 1.5),
    Item("a-b.jpg", None),  # a server that reported no checksum
    Item("é/3.jpg", Blob("ABCDEF" + "0" * 34, 3)),  # not lower-case hex: kept exactly, not as 20 bytes
    Item("c.jpg", blob("c"), frame_id="f1", sensor_name="cam"),
    Item("m.jpg", blob("m"), masks={"SEMANTIC_MASK": MaskFile(blob("mask"), "/x/m.png")}),
]


def test_a_table_reads_back_every_item_exactly() -> None:
    table = ItemTable.from_items(ITEMS)
    want = {i.remote_path: i for i in ITEMS}
    assert list(table) == sorted(want)
    assert dict(table) == want and table == want
    assert all(table[p] == want[p] for p in want) and "nope" not in table
    assert sorted(table.extras) == [1, 3, 4, 5]  # bare rows (a path and a blob or none) need no object


def test_the_builder_sorts_and_keeps_the_last_row_of_a_path() -> None:
    rows = TableBuilder()
    rows.add_plain("z", "a" * 40, 1)
    rows.add_plain("a", "b" * 40, 2)
    rows.add_plain("z", "c" * 40, 3)
    rows.add(Item("m", None))
    table = rows.table()
    assert list(table) == ["a", "m", "z"]
    assert table["z"].blob == Blob("c" * 40, 3) and table["m"].blob is None


def test_a_table_digests_like_the_dict_it_stands_for() -> None:
    # the digest is fed a chunk of lines at a time: the same bytes as one join
    many = [Item(f"d{i // 10}/{i:05}.bin", blob(str(i))) for i in range(10_000)] + ITEMS
    as_dict = Dataset("x", "tensorbay", "normal", segments={"s": Segment("s", items={i.remote_path: i for i in many})})
    as_table = Dataset("x", "tensorbay", "normal", segments={"s": Segment("s", items=ItemTable.from_items(many))})
    assert dataset_digest(as_table) == dataset_digest(as_dict)
