"""COCO reader against pycocotools (an independent reader), RLE codec, round trips, byte preservation."""

from __future__ import annotations

import copy
import json
import random
from pathlib import Path

import pytest

from labelsync.formats import coco, rle

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # pycocotools on numpy 2

FIXTURE = Path(__file__).parent / "fixtures" / "coco" / "instances.json"

np = pytest.importorskip("numpy")
COCO = pytest.importorskip("pycocotools.coco").COCO
mask_api = pytest.importorskip("pycocotools.mask")


@pytest.fixture(scope="module")
def reference():  # type: ignore[no-untyped-def]
    return COCO(str(FIXTURE))


@pytest.fixture(scope="module")
def ours() -> dict[str, dict]:
    parsed = coco.read(FIXTURE)
    assert parsed.diagnostics == []
    return parsed.labels


def _objects(label: dict, instance: str) -> dict[str, dict]:
    return {t: o for t, objs in label.items() for o in objs if o.get("instance") == instance}


def test_every_annotation_matches_pycocotools(reference, ours) -> None:  # type: ignore[no-untyped-def]
    checked = {"box": 0, "polygon": 0, "rle": 0, "keypoints": 0}
    for img_id, img in reference.imgs.items():
        label = ours[img["file_name"]]
        ann_ids = reference.getAnnIds(imgIds=[img_id])
        instances = {o["instance"] for objs in label.values() for o in objs}
        assert instances == {str(a) for a in ann_ids}
        for ann in reference.loadAnns(ann_ids):
            objs = _objects(label, str(ann["id"]))
            category = reference.cats[ann["category_id"]]["name"]
            assert {o["category"] for o in objs.values()} == {category}
            assert all(bool((o.get("attributes") or {}).get("iscrowd")) == bool(ann["iscrowd"]) for o in objs.values())
            b = objs["BOX2D"]["box2d"]
            x, y, w, h = ann["bbox"]
            assert (b["xmin"], b["ymin"]) == (x, y)
            assert b["xmax"] == pytest.approx(x + w, abs=1e-9) and b["ymax"] == pytest.approx(y + h, abs=1e-9)
            checked["box"] += 1
            # masks: decode pycocotools' and ours, compare every pixel
            theirs = reference.annToMask(ann) if ann["segmentation"] else None
            if isinstance(ann["segmentation"], list) and ann["segmentation"]:
                polys = ([objs["POLYGON"]["polygon"]] if "POLYGON" in objs else objs["MULTI_POLYGON"]["multiPolygon"])
                flat = [[v for p in poly for v in (p["x"], p["y"])] for poly in polys]
                assert flat == ann["segmentation"]
                mine = mask_api.decode(mask_api.merge(mask_api.frPyObjects(flat, img["height"], img["width"])))
                assert (mine == theirs).all()
                checked["polygon"] += 1
            elif isinstance(ann["segmentation"], dict):
                pixels = np.array(rle.to_pixels(objs["RLE"]["rle"]), dtype=np.uint8)
                mine = pixels.reshape((img["width"], img["height"])).T
                assert theirs.sum() > 0 and (mine == theirs).all()
                checked["rle"] += 1
            if "keypoints" in ann:
                pts = objs["KEYPOINTS2D"]["keypoints2d"]
                assert [v for p in pts for v in (p["x"], p["y"], p["v"])] == ann["keypoints"]
                checked["keypoints"] += 1
    assert checked == {"box": 5, "polygon": 2, "rle": 2, "keypoints": 1}


def test_catalog_carries_categories_and_the_skeleton(reference) -> None:  # type: ignore[no-untyped-def]
    catalog = coco.catalog_from(FIXTURE)
    assert [c["name"] for c in catalog["BOX2D"]["categories"]] == ["person", "car", "dog"]
    assert set(catalog) == {"BOX2D", "POLYGON", "MULTI_POLYGON", "RLE", "KEYPOINTS2D"}
    (kp,) = catalog["KEYPOINTS2D"]["keypoints"]
    person = reference.cats[1]
    assert kp["names"] == person["keypoints"] and kp["number"] == 17
    assert kp["skeleton"] == [[i - 1, j - 1] for i, j in person["skeleton"]]


def test_rle_codec_matches_pycocotools_on_random_masks() -> None:
    gen = np.random.default_rng(7)
    for _ in range(100):
        h, w = (int(v) for v in gen.integers(1, 30, 2))
        m = (gen.random((h, w)) < gen.random()).astype(np.uint8)
        theirs = mask_api.encode(np.asfortranarray(m))
        counts = rle.from_pixels(m.flatten(order="F"))
        assert rle.encode_counts(counts) == theirs["counts"].decode()
        assert rle.decode_counts(theirs["counts"].decode()) == counts
        assert rle.area(counts) == int(mask_api.area(theirs))


def test_unchanged_labels_rewrite_no_byte(ours) -> None:  # type: ignore[no-untyped-def]
    text = FIXTURE.read_text()
    assert coco.dump(text, ours) is text
    indented = json.dumps(json.loads(text), indent=2) + "\n"
    assert coco.dump(indented, coco.parse(indented).labels) == indented


def test_changing_one_box_keeps_every_other_annotation_object(ours) -> None:  # type: ignore[no-untyped-def]
    text = FIXTURE.read_text()
    labels = copy.deepcopy(ours)
    labels["000000000285.jpg"]["BOX2D"][1]["box2d"]["xmax"] = 60
    out = coco.dump(text, labels)
    before, after = json.loads(text), json.loads(out)
    changed = [a for a, b in zip(before["annotations"], after["annotations"], strict=True) if a != b]
    assert [a["id"] for a in changed] == [202]
    assert after["annotations"][-1]["bbox"] == [0, 0, 60, 48]
    assert coco.parse(out).labels == labels


def test_round_trip_into_a_new_file_gives_the_same_labels(ours) -> None:  # type: ignore[no-untyped-def]
    sizes = {im["file_name"]: (im["width"], im["height"]) for im in json.loads(FIXTURE.read_text())["images"]}
    catalog = coco.catalog_from(FIXTURE)
    text = coco.dump(None, ours, catalog=catalog, image_size=sizes.__getitem__)
    again = coco.parse(text)
    assert again.diagnostics == []
    assert again.labels == ours
    assert coco.dump(None, again.labels, catalog=catalog, image_size=sizes.__getitem__) == text
    assert coco.catalog_of(text)["KEYPOINTS2D"] == catalog["KEYPOINTS2D"]


def test_new_and_removed_annotations(ours, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "instances.json"
    path.write_text(FIXTURE.read_text())
    labels = copy.deepcopy(ours)
    del labels["000000000139.jpg"]["POLYGON"]  # annotation 101 loses its polygon
    labels["sub/000000000632.jpg"] = {"BOX2D": [{"box2d": {"xmin": 1, "ymin": 2, "xmax": 3, "ymax": 4}, "category": "cat"}]}
    assert coco.write(path, labels)
    got = coco.read(path)
    assert got.diagnostics == []
    new = got.labels["sub/000000000632.jpg"]["BOX2D"][0]
    assert new["category"] == "cat" and new["instance"] == "203"
    assert "POLYGON" not in got.labels["000000000139.jpg"]
    mtime = path.stat().st_mtime_ns
    assert not coco.write(path, got.labels)
    assert path.stat().st_mtime_ns == mtime


def test_fuzzed_boxes_round_trip_exactly() -> None:
    gen = random.Random(5)
    images = [{"id": 1, "file_name": "a.jpg", "width": 1000, "height": 1000}]
    anns = []
    for i in range(300):
        x, y = round(gen.uniform(0, 500), gen.randint(0, 4)), round(gen.uniform(0, 500), gen.randint(0, 4))
        w, h = round(gen.uniform(0, 400), gen.randint(0, 4)), round(gen.uniform(0, 400), gen.randint(0, 4))
        anns.append({"id": i + 1, "image_id": 1, "category_id": 1, "bbox": [x, y, w, h], "area": w * h,
                     "segmentation": [], "iscrowd": 0})
    doc = {"images": images, "annotations": anns, "categories": [{"id": 1, "name": "box"}]}
    labels = coco.parse(json.dumps(doc)).labels
    for obj in labels["a.jpg"]["BOX2D"]:
        obj["attributes"] = {"iscrowd": False}  # force a rebuild of every annotation
    rebuilt = json.loads(coco.dump(json.dumps(doc), labels))
    assert [a["bbox"] for a in rebuilt["annotations"]] == [a["bbox"] for a in anns]


def test_writing_over_a_broken_file_refuses_and_keeps_it(tmp_path: Path) -> None:
    from labelsync.formats.problems import FormatError

    path = tmp_path / "instances.json"
    broken = FIXTURE.read_text().replace('"category_id": 3', '"category_id": 9', 1)
    path.write_text(broken)
    with pytest.raises(FormatError) as err:
        coco.write(path, {"000000000139.jpg": {}})
    assert str(err.value).startswith(f"{path}:1:") and "category_id 9 is not in categories" in str(err.value)
    assert path.read_text() == broken


def test_a_new_image_needs_a_size() -> None:
    from labelsync.errors import LocalDataError

    with pytest.raises(LocalDataError, match="no size known for the new image 'x.jpg'"):
        coco.dump(FIXTURE.read_text(), {"x.jpg": {}})
