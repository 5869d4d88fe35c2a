"""The share file (labelsync.engine.shardlive): every item back in its shard's section, exactly."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from labelsync.columns import ItemTable
from labelsync.engine import shardlive
from labelsync.engine.shardlive import live_name, read_share, write_shares
from labelsync.engine.shardspec import shard_of
from labelsync.state import Blob, Dataset, Item, Live, Segment


def _live(n: int) -> Live:
    items = [Item(f"d{i % 7}/f{i:05d}.bin", Blob(f"{i:040x}", i)) for i in range(n)]
    items += [
        Item("labelled ü\n.png", Blob("a" * 40, 3), {"BOX2D": [{"category": "car"}], "SEMANTIC_MASK": {"checksum": "b" * 40, "fileSize": 9}}),
        Item("no-checksum.bin", None),
        Item("odd-checksum.bin", Blob("ABC", 1)),
    ]
    frames = [Item(f"cam/{i}.jpg", Blob(f"{i:040x}", 5), {}, 1.5 + i, f"frame-{i}", "cam") for i in range(20)]
    segments = {"train": Segment(name="train", items=ItemTable.from_items(items)), "fused": Segment(name="fused", items=ItemTable.from_items(frames)),
                "empty": Segment(name="empty", items=ItemTable.from_items([]))}
    return Live(dataset=Dataset(name="ds", provider="tensorbay", kind="normal", remote="default", branch="main", segments=segments), head="c1")


def test_every_shard_reads_back_exactly_its_items(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shardlive, "_CHUNK", 4093)  # sections read in many chunks, lines cut across them
    live = _live(20_000)  # several batches of lines per section
    spec = tmp_path / "shards.json"
    block = write_shares(tmp_path / live_name(spec.name), live, 3)
    assert block["file"] == "shards.live" and len(block["sections"]) == 3
    assert live.dataset is not None
    for index in (1, 2, 3):
        tables, why = read_share(spec, block, index)
        assert why == "" and tables is not None
        assert set(tables) == {"train", "fused", "empty"}
        for name, seg in live.dataset.segments.items():
            want = {p: item for p, item in seg.items.items() if shard_of(p, 3) == index}
            assert tables[name] == want, name
    assert sum(s[2] for s in block["sections"]) == 20_023


def test_a_section_that_does_not_match_or_is_cut_short_is_not_trusted(tmp_path: Path) -> None:
    spec = tmp_path / "s.json"
    block = write_shares(tmp_path / "s.live", _live(500), 2)
    data = (tmp_path / "s.live").read_bytes()
    (tmp_path / "s.live").write_bytes(data[: block["sections"][1][0] + 5])
    assert read_share(spec, block, 1)[0] is not None  # shard 1's section is intact
    tables, why = read_share(spec, block, 2)
    assert tables is None and "s.live does not match s.json" in why
    other = json.loads(json.dumps(block))
    other["sections"][0][3] = "0" * 32
    assert read_share(spec, other, 1) == (None, "s.live does not match s.json (from another --prepare?)")
    assert read_share(spec, {}, 1)[1] == "s.json records no remote share (written by an older labelsync)"
    (tmp_path / "s.live").unlink()
    assert read_share(spec, block, 1) == (None, "no s.live next to s.json (ship it with it)")


def test_a_dataset_absent_at_prepare_gives_empty_shares(tmp_path: Path) -> None:
    block = write_shares(tmp_path / "shards.live", Live(dataset=None), 4)
    assert [s[2] for s in block["sections"]] == [0, 0, 0, 0]
    assert read_share(tmp_path / "shards.json", block, 4) == ({}, "")
