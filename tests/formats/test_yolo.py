"""YOLO reader against globox and against a minimal independent parse; round trips."""

from __future__ import annotations

import copy
import shutil
from pathlib import Path

import pytest

from labelsync.formats import yolo

ROOT = Path(__file__).parent / "fixtures" / "yolo"
LABELS = ROOT / "labels" / "train"
IMAGES = ROOT / "images" / "train"
SIZES = {"0001.png": (640, 480), "0002.png": (320, 256), "0003.png": (100, 100)}
NAMES = ["person", "bicycle", "car"]


def _independent(text: str, width: int, height: int) -> list[tuple[str, list[float]]]:
    """Objects as (class name, pixel coordinates): boxes as corners, polygons as points."""
    out = []
    for row in text.splitlines():
        cls, *vals = row.split()
        nums = [float(v) for v in vals]
        if len(nums) == 4:
            cx, cy, w, h = nums[0] * width, nums[1] * height, nums[2] * width, nums[3] * height
            out.append((NAMES[int(cls)], [cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2]))
        else:
            out.append((NAMES[int(cls)], [v * (width if i % 2 == 0 else height) for i, v in enumerate(nums)]))
    return out


def test_image_sizes_come_from_the_headers() -> None:
    for name, size in SIZES.items():
        assert yolo.image_size(IMAGES / name) == size


def test_objects_match_an_independent_parse() -> None:
    labels = yolo.read(LABELS).labels
    assert sorted(labels) == sorted(SIZES)
    assert labels["0003.png"] == {}
    for txt in sorted(LABELS.glob("*.txt")):
        image = txt.stem + ".png"
        expected = sorted(_independent(txt.read_text(), *SIZES[image]))
        got = []
        for b in labels[image].get("BOX2D", []):
            got.append((b["category"], [b["box2d"][k] for k in ("xmin", "ymin", "xmax", "ymax")]))
        for p in labels[image].get("POLYGON", []):
            got.append((p["category"], [v for pt in p["polygon"] for v in (pt["x"], pt["y"])]))
        got.sort()
        assert [g[0] for g in got] == [e[0] for e in expected]
        for (_, a), (_, b) in zip(got, expected, strict=True):
            assert a == pytest.approx(b, abs=1e-9)


def test_boxes_match_globox(tmp_path: Path) -> None:
    globox = pytest.importorskip("globox")
    shutil.copy(LABELS / "0001.txt", tmp_path)  # globox reads detection lines only
    theirs = globox.AnnotationSet.from_yolo_v5(tmp_path, image_folder=IMAGES, image_extension=".png")
    ours = yolo.read(LABELS).labels["0001.png"]["BOX2D"]
    (ann,) = list(theirs)
    assert [NAMES[int(b.label)] for b in ann.boxes] == [o["category"] for o in ours]
    for b, o in zip(ann.boxes, ours, strict=True):
        assert list(b.ltrb) == pytest.approx([o["box2d"][k] for k in ("xmin", "ymin", "xmax", "ymax")], abs=1e-6)


def test_names_from_classes_txt_or_data_yaml(tmp_path: Path) -> None:
    (tmp_path / "classes.txt").write_text("person\nbicycle\ncar\n")
    assert yolo.names_from(tmp_path / "classes.txt") == NAMES
    assert yolo.names_from(ROOT / "data.yaml") == NAMES
    assert yolo.catalog_from(LABELS) == {"BOX2D": {"categories": [{"name": n} for n in NAMES]},
                                         "POLYGON": {"categories": [{"name": n} for n in NAMES]}}


def _copy(tmp_path: Path) -> Path:
    shutil.copytree(ROOT, tmp_path / "ds")
    return tmp_path / "ds" / "labels" / "train"


def test_unchanged_rewrite_changes_no_byte(tmp_path: Path) -> None:
    labels_dir = _copy(tmp_path)
    assert yolo.write(labels_dir, yolo.read(labels_dir).labels) == []
    for txt in LABELS.glob("*.txt"):
        assert (labels_dir / txt.name).read_bytes() == txt.read_bytes()
    assert not (labels_dir / "0003.txt").exists()


def test_changed_object_keeps_the_other_lines(tmp_path: Path) -> None:
    labels_dir = _copy(tmp_path)
    labels = copy.deepcopy(yolo.read(labels_dir).labels)
    labels["0001.png"]["BOX2D"][1]["box2d"]["xmax"] = 96.0
    labels["0003.png"] = {"POLYGON": [{"polygon": [{"x": 0, "y": 0}, {"x": 50, "y": 0}, {"x": 25, "y": 12.5}], "category": "car"}]}
    assert sorted(p.name for p in yolo.write(labels_dir, labels)) == ["0001.txt", "0003.txt"]
    lines = (labels_dir / "0001.txt").read_text().splitlines()
    assert lines == ["0 0.481719 0.634028 0.690625 0.713278", "2 0.1125 0.2 0.075 0.1", "1 0.5 0.5 1 1"]
    assert (labels_dir / "0003.txt").read_text() == "2 0 0 0.5 0 0.25 0.125\n"
    assert yolo.read(labels_dir).labels == labels


def test_round_trip_into_new_files(tmp_path: Path) -> None:
    labels = yolo.read(LABELS).labels
    out = tmp_path / "labels" / "train"
    out.mkdir(parents=True)
    (tmp_path / "labels" / "classes.txt").write_text("\n".join(NAMES) + "\n")
    yolo.write(out, labels, images_dir=IMAGES)
    again = yolo.read(out, images_dir=IMAGES).labels
    assert again == labels
