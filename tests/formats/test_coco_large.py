"""Large COCO files: problems located in one pass (same positions as walking the text), and
the garbage collector kept off the label tree of a large file."""

from __future__ import annotations

import gc
import json
import time

import pytest

from labelsync.formats import coco
from labelsync.formats.gcpause import FREEZE_CHARS, gc_paused
from labelsync.formats.problems import JsonDoc, line_col
from labelsync.local.jsonpos import locate


def _document(images: int, bad_every: int = 0) -> dict:
    anns = []
    for i in range(1, images + 1):
        for k in range(2):
            aid = 2 * i + k
            cid = 9 if bad_every and aid % bad_every == 0 else 1
            anns.append({"id": aid, "image_id": i, "category_id": cid, "bbox": [1.5, 2.25, 10, 20], "iscrowd": 0,
                         "segmentation": [[1.5, 2.25, 11.5, 2.25, 11.5, 22.25, 1.5, 22.25]], "area": 200.0})
    return {"images": [{"id": i, "file_name": f"{i:06d}.jpg", "width": 64, "height": 48} for i in range(1, images + 1)],
            "annotations": anns, "categories": [{"id": 1, "name": "car"}]}


@pytest.mark.parametrize("indent", [None, 1, "\t"])
def test_json_doc_positions_equal_walking_the_text(indent: int | str | None) -> None:
    doc = _document(6)
    doc["images"][2]["extra"] = [{"a": [1, {"b": "x]\"}"}]}, None]
    text = json.dumps({"info": {"images": [7]}, **doc, "tail": []}, indent=indent)
    paths: list[tuple[str | int, ...]] = [(), ("images",), ("tail", 0), ("missing", 3), ("categories", 0, "name")]
    for key in ("images", "annotations"):
        for i in range(-1, len(doc[key]) + 2):
            paths += [(key, i), (key, i, "id"), (key, i, "bbox", 3), (key, i, "segmentation", 0, 5), (key, i, "nope")]
    paths += [("images", 2, "extra", 0, "a", 1, "b"), ("images", 2, "extra", 1)]
    jd = JsonDoc("f.json", text)
    for path in paths * 2:  # the second round uses the line index
        assert jd.at(path) == line_col(text, locate(text, path) - 1), path


def test_a_top_level_array_is_not_taken_for_a_missing_key() -> None:
    text = '  [[1, 2], {"images": [3]}]'
    jd = JsonDoc("f.json", text)
    assert jd.at(("images", 0)) == line_col(text, locate(text, ("images", 0)) - 1) == (1, 3)


def test_many_problems_in_a_large_file_are_located_in_one_pass() -> None:
    doc = _document(5000, bad_every=5)  # 10,000 annotations, 2,000 with an unknown category
    text = json.dumps(doc, indent=1)
    start = time.perf_counter()
    parsed = coco.parse(text, file="big.json")
    elapsed = time.perf_counter() - start
    assert len(parsed.diagnostics) == 2000
    for d in (parsed.diagnostics[0], parsed.diagnostics[-1]):
        i = int(d.path.split("[")[1].split("]")[0])
        assert (d.line, d.column) == line_col(text, locate(text, ("annotations", i, "category_id")) - 1)
    # walking the text from its start for each problem took minutes here
    assert elapsed < 15, f"{elapsed:.1f} s"


def test_a_large_file_is_frozen_out_of_the_collector(monkeypatch: pytest.MonkeyPatch) -> None:
    assert FREEZE_CHARS == coco.FREEZE_CHARS
    monkeypatch.setattr(coco, "FREEZE_CHARS", 10_000)
    small, big = json.dumps(_document(3)), json.dumps(_document(100))
    assert len(small) < 10_000 <= len(big)
    frozen = gc.get_freeze_count()
    try:
        assert coco.parse(small).ok and gc.get_freeze_count() == frozen
        parsed = coco.parse(big)
        assert parsed.ok and len(parsed.labels) == 100
        assert gc.isenabled() and gc.get_freeze_count() > frozen
    finally:
        gc.unfreeze()


def test_gc_pause_nests_and_restores() -> None:
    assert gc.isenabled()
    with gc_paused():
        with gc_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()
    with pytest.raises(ValueError), gc_paused():
        raise ValueError
    assert gc.isenabled()
