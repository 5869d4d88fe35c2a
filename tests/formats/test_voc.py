"""VOC reader against globox (an independent reader), round trips and byte preservation."""

from __future__ import annotations

import copy
import shutil
from pathlib import Path

import pytest

from labelsync.formats import voc

FIXTURE = Path(__file__).parent / "fixtures" / "voc" / "Annotations"
globox = pytest.importorskip("globox")


def test_boxes_match_globox() -> None:
    ours = voc.read(FIXTURE)
    assert ours.diagnostics == []
    theirs = globox.AnnotationSet.from_pascal_voc(FIXTURE)
    assert sorted(ours.labels) == sorted(a.image_id for a in theirs)
    n = 0
    for ann in theirs:
        boxes = ours.labels[ann.image_id]["BOX2D"]
        assert [b["category"] for b in boxes] == [g.label for g in ann.boxes]
        for b, g in zip(boxes, ann.boxes, strict=True):
            left, top, right, bottom = g.ltrb  # VOC's 1-based inclusive corners, as written
            assert (b["box2d"]["xmin"], b["box2d"]["ymin"]) == (left - 1, top - 1)
            assert (b["box2d"]["xmax"], b["box2d"]["ymax"]) == (right, bottom)
            n += 1
    assert n == 4


def test_flags_and_pose_become_attributes() -> None:
    labels = voc.read(FIXTURE).labels
    horse, person = labels["2008_000008.jpg"]["BOX2D"]
    assert horse["attributes"] == {"pose": "Left", "truncated": False, "occluded": True, "difficult": False}
    assert labels["000005.jpg"]["BOX2D"][1]["attributes"]["difficult"] is True
    assert voc.catalog_from(FIXTURE)["BOX2D"]["categories"] == [{"name": "chair"}, {"name": "horse"}, {"name": "person"}]


def test_unchanged_rewrite_changes_no_byte(tmp_path: Path) -> None:
    shutil.copytree(FIXTURE, tmp_path / "a")
    labels = voc.read(tmp_path / "a").labels
    assert voc.write(tmp_path / "a", labels) == []
    for path in FIXTURE.iterdir():
        assert (tmp_path / "a" / path.name).read_bytes() == path.read_bytes()


def test_a_changed_box_rewrites_only_its_object(tmp_path: Path) -> None:
    shutil.copytree(FIXTURE, tmp_path / "a")
    labels = copy.deepcopy(voc.read(tmp_path / "a").labels)
    labels["000005.jpg"]["BOX2D"][0]["box2d"]["xmax"] = 330
    labels["new/0001.jpg"] = {"BOX2D": [{"box2d": {"xmin": 0, "ymin": 0, "xmax": 10.5, "ymax": 20}, "category": "dog"}]}
    changed = voc.write(tmp_path / "a", labels, image_size=lambda rp: (64, 48))
    assert sorted(p.name for p in changed) == ["000005.xml", "0001.xml"]
    assert voc.read(tmp_path / "a").labels == labels
    text = (tmp_path / "a" / "000005.xml").read_text()
    assert "<xmax>330</xmax>" in text and "<database>The VOC2007 Database</database>" in text
    # the unchanged second object is kept as it was
    original = (FIXTURE / "000005.xml").read_text()
    assert original[original.index("<object>", original.index("</object>")):] == text[text.index("<object>", text.index("</object>")):]


def test_round_trip_into_new_files(tmp_path: Path) -> None:
    labels = voc.read(FIXTURE).labels
    voc.write(tmp_path / "b", labels, image_size=lambda rp: (500, 500))
    assert voc.read(tmp_path / "b").labels == labels
    assert voc.write(tmp_path / "b", labels) == []


def test_entity_declarations_are_refused() -> None:
    bomb = '<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;">]>\n<annotation>&lol2;</annotation>\n'
    name, _, parsed = voc.parse(bomb, file="x.xml")
    assert name is None
    assert [str(d).split(" (hint")[0] for d in parsed.diagnostics] == ["x.xml:2:1: a DOCTYPE is not allowed in a VOC file"]
