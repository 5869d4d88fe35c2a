"""Label checks against the catalog: one good and one bad case per rule, exact messages."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from labelsync.local.labelcheck import check_labels

CATALOG: dict[str, Any] = {
    "CLASSIFICATION": {"categories": [{"name": "cat.a"}], "attributes": [{"enum": ["red", "blue"], "name": "color"}]},
    "BOX2D": {
        "isTracking": True,
        "categories": [{"name": "car"}, {"name": "bus"}],
        "attributes": [
            {"type": "boolean", "name": "occluded"},
            {"type": "number", "minimum": 0, "maximum": 10, "name": "num", "parentCategories": ["car"]},
            {"type": "array", "items": {"type": "integer", "minimum": 0, "maximum": 3}, "name": "lst"},
            {"type": ["string", "null"], "name": "multi"},
        ],
    },
    "BOX3D": {"categories": [{"name": "car"}]},
    "POLYGON": {},
    "MULTI_POLYGON": {},
    "RLE": {},
    "MULTI_POLYLINE2D": {},
    "POLYLINE2D": {"isBeizerCurve": True},
    "KEYPOINTS2D": {
        "categories": [{"name": "person"}, {"name": "hand"}],
        "keypoints": [
            {"number": 2, "names": ["a", "b"], "visible": "TERNARY", "parentCategories": ["person"]},
            {"number": 3, "visible": "BINARY", "parentCategories": ["hand"]},
        ],
    },
    "SENTENCE": {"attributes": [{"enum": ["male", "female"], "name": "gender"}]},
    "SEMANTIC_MASK": {"categories": [{"name": "bg", "categoryId": 0}], "attributes": [{"name": "occluded", "type": "boolean"}]},
    "INSTANCE_MASK": {"categories": [{"name": "bg", "categoryId": 0}]},
    "PANOPTIC_MASK": {"categories": [{"name": "cat", "categoryId": 1}]},
}

BOX = {"xmin": 1, "ymin": 2, "xmax": 3.5, "ymax": 4}
Q = {"w": 1.0, "x": 0.0, "y": 0.0, "z": 0.0}
V3 = {"x": 1, "y": 2, "z": 3}
P3 = [{"x": 1, "y": 2}, {"x": 3, "y": 4}, {"x": 5, "y": 6}]

# (label, [(json path, message)]): an empty list is a good label.
CASES: list[tuple[dict[str, Any], list[tuple[str, str]]]] = [
    # label types
    ({}, []),
    ({"BOX2d": []}, [("label.BOX2d", "unknown label type 'BOX2d'")]),
    ({"CUBOID2D": []}, [("label.CUBOID2D", "unknown label type 'CUBOID2D'")]),
    # CLASSIFICATION
    ({"CLASSIFICATION": {"category": "cat.a", "attributes": {"color": "red"}}}, []),
    ({"CLASSIFICATION": {}}, [("label.CLASSIFICATION", "CLASSIFICATION needs a 'category' or 'attributes'")]),
    ({"CLASSIFICATION": {"category": "cat.b"}}, [("label.CLASSIFICATION.category", "undeclared category 'cat.b' for CLASSIFICATION")]),
    ({"CLASSIFICATION": {"category": "cat.a", "instance": "1"}}, [("label.CLASSIFICATION.instance", "unknown key 'instance' in a CLASSIFICATION label")]),
    # BOX2D geometry
    ({"BOX2D": [{"box2d": BOX, "category": "car", "instance": "1"}]}, []),
    ({"BOX2D": {"box2d": BOX}}, [("label.BOX2D", "BOX2D must be a list of label objects, got object")]),
    ({"BOX2D": [{"category": "car"}]}, [("label.BOX2D[0]", "missing 'box2d'")]),
    ({"BOX2D": [{"box2d": {"xmin": 1, "ymin": 2, "xmax": 3}}]}, [("label.BOX2D[0].box2d", "missing 'ymax'")]),
    ({"BOX2D": [{"box2d": {**BOX, "xmin": "1"}}]}, [("label.BOX2D[0].box2d.xmin", "'xmin' must be a number, got string")]),
    ({"BOX2D": [{"box2d": {**BOX, "xmin": True}}]}, [("label.BOX2D[0].box2d.xmin", "'xmin' must be a number, got boolean")]),
    ({"BOX2D": [{"box2d": {**BOX, "xmin": 9}}]}, [("label.BOX2D[0].box2d", "xmax (3.5) is less than xmin (9)")]),
    ({"BOX2D": [{"box2d": {**BOX, "w": 1}}]}, [("label.BOX2D[0].box2d.w", "unknown key 'w' in box2d")]),
    ({"BOX2D": [{"box2d": BOX, "catgory": "car"}]}, [("label.BOX2D[0].catgory", "unknown key 'catgory' in a BOX2D label")]),
    ({"BOX2D": [{"box2d": BOX, "instance": 1}]}, [("label.BOX2D[0].instance", "'instance' must be a string, got integer")]),
    # categories
    ({"BOX2D": [{"box2d": BOX, "category": "truck"}]}, [("label.BOX2D[0].category", "undeclared category 'truck' for BOX2D")]),
    ({"BOX2D": [{"box2d": BOX, "category": 1}]}, [("label.BOX2D[0].category", "'category' must be a string, got integer")]),
    ({"POLYGON": [{"polygon": P3, "category": "x"}]}, [("label.POLYGON[0].category", "undeclared category 'x' for POLYGON")]),
    # attributes
    ({"BOX2D": [{"box2d": BOX, "category": "car", "attributes": {"occluded": True, "num": 10, "lst": [0, 3], "multi": None}}]}, []),
    ({"BOX2D": [{"box2d": BOX, "attributes": []}]}, [("label.BOX2D[0].attributes", "'attributes' must be an object, got array")]),
    ({"BOX2D": [{"box2d": BOX, "attributes": {"color": 1}}]}, [("label.BOX2D[0].attributes.color", "undeclared attribute 'color' for BOX2D")]),
    ({"BOX2D": [{"box2d": BOX, "category": "bus", "attributes": {"num": 1}}]}, [("label.BOX2D[0].attributes.num", "attribute 'num' is not declared for category 'bus' of BOX2D")]),
    ({"BOX2D": [{"box2d": BOX, "attributes": {"occluded": "yes"}}]}, [("label.BOX2D[0].attributes.occluded", "attribute 'occluded' must be boolean, got string")]),
    ({"BOX2D": [{"box2d": BOX, "attributes": {"multi": 3}}]}, [("label.BOX2D[0].attributes.multi", "attribute 'multi' must be string or null, got integer")]),
    ({"BOX2D": [{"box2d": BOX, "category": "car", "attributes": {"num": -1}}]}, [("label.BOX2D[0].attributes.num", "attribute 'num' must be >= 0, got -1")]),
    ({"BOX2D": [{"box2d": BOX, "category": "car", "attributes": {"num": 10.5}}]}, [("label.BOX2D[0].attributes.num", "attribute 'num' must be <= 10, got 10.5")]),
    ({"BOX2D": [{"box2d": BOX, "attributes": {"lst": [1, 4]}}]}, [("label.BOX2D[0].attributes.lst[1]", "attribute 'lst[1]' must be <= 3, got 4")]),
    ({"BOX2D": [{"box2d": BOX, "attributes": {"lst": [1.5]}}]}, [("label.BOX2D[0].attributes.lst[0]", "attribute 'lst[0]' must be integer, got number")]),
    ({"CLASSIFICATION": {"attributes": {"color": "green"}}}, [("label.CLASSIFICATION.attributes.color", 'attribute \'color\' must be one of "red", "blue", got "green"')]),
    # BOX3D
    ({"BOX3D": [{"box3d": {"translation": V3, "rotation": Q, "size": V3}, "category": "car"}]}, []),
    ({"BOX3D": [{"box3d": {"translation": V3, "size": V3}}]}, [("label.BOX3D[0].box3d", "missing 'rotation'")]),
    ({"BOX3D": [{"box3d": {"translation": V3, "rotation": {"x": 0, "y": 0, "z": 0}, "size": V3}}]}, [("label.BOX3D[0].box3d.rotation", "missing 'w'")]),
    ({"BOX3D": [{"box3d": {"translation": [1, 2, 3], "rotation": Q, "size": V3}}]}, [("label.BOX3D[0].box3d.translation", "translation must be an object with numbers x, y, z")]),
    # POLYGON / MULTI_POLYGON
    ({"POLYGON": [{"polygon": P3}]}, []),
    ({"POLYGON": [{"polygon": P3[:2]}]}, [("label.POLYGON[0].polygon", "a polygon needs at least 3 points, got 2")]),
    ({"POLYGON": [{"polygon": [*P3[:2], {"x": 1}]}]}, [("label.POLYGON[0].polygon[2]", "missing 'y'")]),
    ({"POLYGON": [{"polygon": [*P3[:2], [5, 6]]}]}, [("label.POLYGON[0].polygon[2]", 'a point must be an object {"x", "y"}, got array')]),
    ({"MULTI_POLYGON": [{"multiPolygon": [P3, P3]}]}, []),
    ({"MULTI_POLYGON": [{"multiPolygon": [P3, P3[:1]]}]}, [("label.MULTI_POLYGON[0].multiPolygon[1]", "a polygon needs at least 3 points, got 1")]),
    ({"MULTI_POLYGON": [{"multiPolygon": []}]}, [("label.MULTI_POLYGON[0].multiPolygon", "'multiPolygon' must be a non-empty list of polygons (lists of points)")]),
    # RLE
    ({"RLE": [{"rle": [8, 4, 1, 3]}]}, []),
    ({"RLE": [{"rle": [8, -4, 1.5]}]}, [("label.RLE[0].rle[1]", "RLE counts must be non-negative integers, got -4"), ("label.RLE[0].rle[2]", "RLE counts must be non-negative integers, got 1.5")]),
    # POLYLINE2D / MULTI_POLYLINE2D
    ({"POLYLINE2D": [{"polyline2d": P3[:2], "beizerPointTypes": "LL"}]}, []),
    ({"POLYLINE2D": [{"polyline2d": P3[:2]}]}, [("label.POLYLINE2D[0]", "missing 'beizerPointTypes' (the catalog sets isBeizerCurve)")]),
    ({"POLYLINE2D": [{"polyline2d": P3[:2], "beizerPointTypes": "LLC"}]}, [("label.POLYLINE2D[0].beizerPointTypes", "'beizerPointTypes' has 3 characters but the polyline has 2 points")]),
    ({"POLYLINE2D": [{"polyline2d": P3[:2], "beizerPointTypes": "LX"}]}, [("label.POLYLINE2D[0].beizerPointTypes", "'beizerPointTypes' must be a string of 'L' (vertex) and 'C' (control point)")]),
    ({"POLYLINE2D": [{"polyline2d": P3[:1], "beizerPointTypes": "L"}]}, [("label.POLYLINE2D[0].polyline2d", "a polyline needs at least 2 points, got 1")]),
    ({"MULTI_POLYLINE2D": [{"multiPolyline2d": [P3[:2], P3]}]}, []),
    ({"MULTI_POLYLINE2D": [{"multiPolyline2d": [P3[:1]]}]}, [("label.MULTI_POLYLINE2D[0].multiPolyline2d[0]", "a polyline needs at least 2 points, got 1")]),
    # KEYPOINTS2D
    ({"KEYPOINTS2D": [{"keypoints2d": [{"x": 1, "y": 2, "v": 2}, {"x": 3, "y": 4}], "category": "person"}]}, []),
    ({"KEYPOINTS2D": [{"keypoints2d": [{"x": 1, "y": 2, "v": 2}], "category": "person"}]}, [("label.KEYPOINTS2D[0].keypoints2d", "1 keypoint but the catalog defines 2 for category 'person'")]),
    ({"KEYPOINTS2D": [{"keypoints2d": [{"x": 1, "y": 2, "v": 2}, {"x": 3, "y": 4}], "category": "hand"}]}, [("label.KEYPOINTS2D[0].keypoints2d", "2 keypoints but the catalog defines 3 for category 'hand'"), ("label.KEYPOINTS2D[0].keypoints2d[0].v", "keypoint visibility 'v' must be 0, 1 (BINARY), got 2")]),
    ({"KEYPOINTS2D": [{"keypoints2d": [{"x": 1, "y": 2, "v": 3}, {"x": 3, "y": 4}], "category": "person"}]}, [("label.KEYPOINTS2D[0].keypoints2d[0].v", "keypoint visibility 'v' must be 0, 1, 2 (TERNARY), got 3")]),
    # SENTENCE
    ({"SENTENCE": [{"sentence": [{"text": "hello", "begin": 0.1, "end": 0.5}], "spell": [{"text": "he"}], "attributes": {"gender": "male"}}]}, []),
    ({"SENTENCE": [{"sentence": [{"begin": 0.1}]}]}, [("label.SENTENCE[0].sentence[0]", "missing 'text'")]),
    ({"SENTENCE": [{"sentence": [], "category": "x"}]}, [("label.SENTENCE[0].category", "unknown key 'category' in a SENTENCE label")]),
    ({"SENTENCE": [{"phone": [{"text": "h", "end": "x"}]}]}, [("label.SENTENCE[0].phone[0].end", "'end' must be a number, got string")]),
    # masks
    ({"SEMANTIC_MASK": {"path": "masks/m.png", "info": [{"categoryId": 0, "attributes": {"occluded": True}}]}}, []),
    ({"SEMANTIC_MASK": {"path": "masks/none.png"}}, [("label.SEMANTIC_MASK.path", "mask file 'masks/none.png' does not exist")]),
    ({"SEMANTIC_MASK": {"path": "masks/m.png", "info": [{"categoryId": 7}]}}, [("label.SEMANTIC_MASK.info[0].categoryId", "undeclared categoryId 7 for SEMANTIC_MASK")]),
    ({"SEMANTIC_MASK": {"checksum": "abc", "fileSize": 3}}, [("label.SEMANTIC_MASK", "missing 'path'"), ("label.SEMANTIC_MASK.checksum", "unknown key 'checksum' in SEMANTIC_MASK"), ("label.SEMANTIC_MASK.fileSize", "unknown key 'fileSize' in SEMANTIC_MASK")]),
    ({"INSTANCE_MASK": {"path": "masks/m.png", "info": [{"instanceId": 1}]}}, []),
    ({"INSTANCE_MASK": {"path": "masks/m.png", "info": [{"categoryId": 0}]}}, [("label.INSTANCE_MASK.info[0]", "missing 'instanceId'"), ("label.INSTANCE_MASK.info[0].categoryId", "unknown key 'categoryId' in a INSTANCE_MASK info item")]),
    ({"PANOPTIC_MASK": {"path": "masks/m.png", "info": [{"instanceId": 1, "categoryId": 1}]}}, []),
    ({"PANOPTIC_MASK": {"path": "masks/m.png"}}, [("label.PANOPTIC_MASK", "missing 'info' (PANOPTIC_MASK needs it)")]),
    ({"SEMANTIC_MASK": {"path": "/etc/passwd"}}, [("label.SEMANTIC_MASK.path", "mask path '/etc/passwd' is absolute")]),
    ({"SEMANTIC_MASK": {"path": "../../outside.png"}}, [("label.SEMANTIC_MASK.path", "mask path '../../outside.png' climbs out of the repository with '..'")]),
]


def check_one(tmp_path: Path, label: dict[str, Any], catalog: dict[str, Any] = CATALOG) -> list[tuple[str, str]]:
    (tmp_path / "labels" / "masks").mkdir(parents=True, exist_ok=True)
    (tmp_path / "labels" / "masks" / "m.png").write_bytes(b"png")
    f = tmp_path / "labels" / "l.jsonl"
    f.write_text(json.dumps({"remotePath": "a.jpg", "label": label}) + "\n")
    diags = check_labels(f, catalog, {"a.jpg"}, root=tmp_path)
    assert all(d.file == str(f) and d.line == 1 for d in diags)
    return sorted((d.path, d.message) for d in diags)


@pytest.mark.parametrize(("label", "expected"), CASES, ids=[f"case{i}" for i in range(len(CASES))])
def test_label_rules(tmp_path: Path, label: dict[str, Any], expected: list[tuple[str, str]]) -> None:
    assert check_one(tmp_path, label) == sorted(expected)


def test_type_not_in_catalog(tmp_path: Path) -> None:
    assert check_one(tmp_path, {"POLYGON": [{"polygon": P3}]}, {"BOX2D": {}}) == [
        ("label.POLYGON", "label type 'POLYGON' is not in the catalog")
    ]


def test_record_level_problems_with_positions(tmp_path: Path) -> None:
    f = tmp_path / "l.jsonl"
    f.write_text(
        '{"remotePath": "a.jpg", "label": {}}\n'
        "not json\n"
        '{"remotePath": "a.jpg", "label": {}, "timestap": 1}\n'
        '{"remotePath": "b.jpg", "label": {"BOX2D": [{"box2d": {"xmin": 1, "ymin": 2, "xmax": "3", "ymax": 4}}]}}\n'
        "[]\n"
    )
    diags = check_labels(f, {"BOX2D": {}}, {"a.jpg"}, display="labels/l.jsonl")
    assert [str(d) for d in diags] == [
        "labels/l.jsonl:2:1: invalid JSON: Expecting value (hint: one JSON object per line)",
        "labels/l.jsonl:3:16: duplicate remotePath 'a.jpg' (first on line 1) [remotePath] (hint: merge the two lines into one)",
        "labels/l.jsonl:3:38: unknown key 'timestap' [timestap] (hint: did you mean 'timestamp'?)",
        "labels/l.jsonl:4:16: no data file 'b.jpg' in the data directory [remotePath] (hint: label only files the segment's data selects)",
        "labels/l.jsonl:4:86: 'xmax' must be a number, got string [label.BOX2D[0].box2d.xmax]",
        "labels/l.jsonl:5:1: a label line must be a JSON object, not a list",
    ]


def test_every_problem_of_a_line_is_reported(tmp_path: Path) -> None:
    label = {"BOX2D": [{"box2d": {"xmin": "a", "ymin": 2, "xmax": 3, "ymax": 4}, "category": "truck", "attributes": {"occluded": 1}}]}
    assert len(check_one(tmp_path, label)) == 3


def test_known_paths_none_skips_the_data_check(tmp_path: Path) -> None:
    f = tmp_path / "l.jsonl"
    f.write_text('{"remotePath": "zzz.jpg", "label": {}}\n')
    assert check_labels(f, {}, None) == []
