"""labelme reader against globox and an independent reading; round trips and byte preservation."""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path

import pytest

from labelsync.formats import labelme

FIXTURE = Path(__file__).parent / "fixtures" / "labelme"


def test_rectangles_and_polygons_match_globox() -> None:
    globox = pytest.importorskip("globox")
    ours = labelme.read(FIXTURE)
    assert ours.diagnostics == []
    theirs = {a.image_id: a for a in globox.AnnotationSet.from_labelme(FIXTURE, include_poly=True)}
    assert set(theirs) == set(ours.labels)
    for image, ann in theirs.items():
        label = ours.labels[image]
        mine = [(b["category"], tuple(b["box2d"][k] for k in ("xmin", "ymin", "xmax", "ymax")))
                for b in label.get("BOX2D", []) if "shape_type" not in b.get("attributes", {})]
        for p in label.get("POLYGON", []):
            xs, ys = [q["x"] for q in p["polygon"]], [q["y"] for q in p["polygon"]]
            mine.append((p["category"], (min(xs), min(ys), max(xs), max(ys))))
        assert sorted(mine) == sorted((b.label, tuple(b.ltrb)) for b in ann.boxes)


def test_every_shape_type_against_an_independent_reading() -> None:
    labels = labelme.read(FIXTURE).labels
    for path in sorted(FIXTURE.glob("*.json")):
        doc = json.loads(path.read_text())
        label = labels[doc["imagePath"]]
        flat = [(t, o) for t, objs in label.items() if t != "CLASSIFICATION" for o in objs]
        assert len(flat) == len(doc["shapes"])
        for shape in doc["shapes"]:
            pts = shape["points"]
            kind = shape["shape_type"]
            if kind == "rectangle":
                want = ("BOX2D", {"xmin": min(p[0] for p in pts), "ymin": min(p[1] for p in pts),
                                  "xmax": max(p[0] for p in pts), "ymax": max(p[1] for p in pts)})
            elif kind == "circle":
                r = ((pts[1][0] - pts[0][0]) ** 2 + (pts[1][1] - pts[0][1]) ** 2) ** 0.5
                want = ("BOX2D", {"xmin": pts[0][0] - r, "ymin": pts[0][1] - r, "xmax": pts[0][0] + r, "ymax": pts[0][1] + r})
            else:
                t = {"polygon": "POLYGON", "linestrip": "POLYLINE2D", "line": "POLYLINE2D", "point": "KEYPOINTS2D"}[kind]
                want = (t, [{"x": x, "y": y} for x, y in pts])
            found = [o for t, o in flat if t == want[0] and o["category"] == shape["label"]
                     and (o.get("box2d") or o.get("polygon") or o.get("polyline2d") or o.get("keypoints2d")) == want[1]]
            assert len(found) == 1, shape
    assert labels["2011_000003.png"]["CLASSIFICATION"] == {"attributes": {"night": False, "blurred": True}}


def test_unchanged_rewrite_changes_no_byte(tmp_path: Path) -> None:
    shutil.copytree(FIXTURE, tmp_path / "a")
    assert labelme.write(tmp_path / "a", labelme.read(tmp_path / "a").labels) == []
    for path in FIXTURE.glob("*.json"):
        assert (tmp_path / "a" / path.name).read_bytes() == path.read_bytes()


def test_changed_shape_keeps_the_others(tmp_path: Path) -> None:
    shutil.copytree(FIXTURE, tmp_path / "a")
    labels = copy.deepcopy(labelme.read(tmp_path / "a").labels)
    labels["2011_000025.png"]["POLYLINE2D"][0]["polyline2d"][1]["x"] = 90
    labels["2011_000025.png"]["CLASSIFICATION"] = {"attributes": {"rain": True}}
    changed = labelme.write(tmp_path / "a", labels)
    assert [p.name for p in changed] == ["2011_000025.json"]
    assert labelme.read(tmp_path / "a").labels == labels
    before = json.loads((FIXTURE / "2011_000025.json").read_text())["shapes"]
    after = json.loads((tmp_path / "a" / "2011_000025.json").read_text())["shapes"]
    assert before[1:] == after[1:] and after[0]["points"][1] == [90, 160.0]


def test_round_trip_into_new_files(tmp_path: Path) -> None:
    labels = labelme.read(FIXTURE).labels
    out = tmp_path / "out"
    labelme.write(out, labels, data_dir=FIXTURE, image_size=lambda rp: (500, 400))
    assert labelme.read(out, data_dir=FIXTURE).labels == labels
    doc = json.loads((out / "2011_000003.json").read_text())
    assert (out / doc["imagePath"]).resolve() == (FIXTURE / "2011_000003.png").resolve()
    assert (doc["imageWidth"], doc["imageHeight"], doc["imageData"]) == (500, 400, None)
