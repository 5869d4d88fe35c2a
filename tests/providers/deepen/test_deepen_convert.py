"""Table tests of the pure Deepen conversions, with literal values, both directions."""

from __future__ import annotations

import math
from typing import Any

import pytest

from labelsync.providers.deepen.convert import (
    CONTENT_TAG,
    DIGEST_TAG,
    PROFILE_TAG,
    ConvertError,
    catalog_from_profile,
    catalog_projection,
    content_digest,
    content_digest_of,
    create_body,
    file_id_for,
    live_settings,
    profile_for,
    read_tag,
    remote_path_guess,
    user_tags,
)
from labelsync.providers.deepen.labels import (
    align_order,
    from_deepen,
    to_deepen,
)
from labelsync.state import Blob, Item

# (TensorBay label of one item, its Deepen labels for file "a.png")
LABELS: list[tuple[str, dict[str, Any], list[dict[str, Any]]]] = [
    (
        "box2d",
        {"BOX2D": [{"box2d": {"xmin": 1, "ymin": 2, "xmax": 4, "ymax": 7}, "category": "car", "attributes": {"occluded": True}}]},
        [{"file_id": "a.png", "label_type": "box", "label_category_id": "car", "label_id": "car:500001",
          "attributes": {"occluded": True}, "box": [1, 2, 3, 5]}],
    ),
    (
        "two boxes of one category get their positions",
        {"BOX2D": [{"box2d": {"xmin": 0, "ymin": 0, "xmax": 1, "ymax": 1}, "category": "car"},
                   {"box2d": {"xmin": 2, "ymin": 2, "xmax": 3.5, "ymax": 3}, "category": "car"}]},
        [{"file_id": "a.png", "label_type": "box", "label_category_id": "car", "label_id": "car:500001", "attributes": {}, "box": [0, 0, 1, 1]},
         {"file_id": "a.png", "label_type": "box", "label_category_id": "car", "label_id": "car:500002", "attributes": {}, "box": [2, 2, 1.5, 1]}],
    ),
    (
        "polygon",
        {"POLYGON": [{"polygon": [{"x": 1, "y": 2}, {"x": 3, "y": 4}, {"x": 5, "y": 0}], "category": "road"}]},
        [{"file_id": "a.png", "label_type": "polygon", "label_category_id": "road", "label_id": "road:1500001", "attributes": {},
          "polygons": [[[1, 2], [3, 4], [5, 0]]]}],
    ),
    (
        "polyline is a lane",
        {"POLYLINE2D": [{"polyline2d": [{"x": 0, "y": 0}, {"x": 9, "y": 9}], "category": "lane"}]},
        [{"file_id": "a.png", "label_type": "lane", "label_category_id": "lane", "label_id": "lane:2500001", "attributes": {},
          "polygons": [[[0, 0], [9, 9]]]}],
    ),
    (
        "keypoint with visibility",
        {"KEYPOINTS2D": [{"keypoints2d": [{"x": 5, "y": 6, "v": 2}], "category": "head"}]},
        [{"file_id": "a.png", "label_type": "point", "label_category_id": "head", "label_id": "head:3500001", "attributes": {},
          "point": [5, 6, 2]}],
    ),
    (
        "classification is a scene",
        {"CLASSIFICATION": {"category": "day", "attributes": {"weather": "sun"}}},
        [{"file_id": "a.png", "label_type": "scene", "label_category_id": "day", "label_id": "day:5500001", "attributes": {"weather": "sun"}}],
    ),
]


@pytest.mark.parametrize(("name", "tensorbay", "deepen"), LABELS, ids=[x[0] for x in LABELS])
def test_labels_both_ways(name: str, tensorbay: dict[str, Any], deepen: list[dict[str, Any]]) -> None:
    assert to_deepen("a.png", tensorbay) == deepen
    assert from_deepen(deepen) == tensorbay


def test_box3d_both_ways_with_quaternion_and_yaw() -> None:
    half = math.sqrt(0.5)
    tb = {"BOX3D": [{"box3d": {"translation": {"x": 1, "y": 2, "z": 3},
                               "rotation": {"w": half, "x": 0.0, "y": 0.0, "z": half},
                               "size": {"x": 4.5, "y": 2, "z": 1.5}},
                     "category": "car", "instance": "7"}]}  # fmt: skip
    [label] = to_deepen("0001.pcd", tb)
    assert label["label_type"] == "3d_bbox"
    assert label["label_id"] == "car:4000007"  # a track keeps its number across frames
    assert label["attributes"] == {"labelsync.instance": "7"}
    assert label["sensor_id"] == "lidar"
    box = label["three_d_bbox"]
    assert {k: box[k] for k in ("cx", "cy", "cz", "l", "w", "h")} == {"cx": 1, "cy": 2, "cz": 3, "l": 4.5, "w": 2, "h": 1.5}
    assert box["quaternion"] == {"x": 0.0, "y": 0.0, "z": half, "w": half}
    assert box["rot_z"] == pytest.approx(math.pi / 2)
    assert from_deepen([label]) == tb


def test_box3d_from_rot_z_only() -> None:
    doc = {"label_type": "3d_bbox", "label_category_id": "bus", "label_id": "bus:1",
           "three_d_bbox": {"cx": 0, "cy": 0, "cz": 0, "l": 1, "w": 1, "h": 1, "rot_z": 0}}  # fmt: skip
    assert from_deepen([doc])["BOX3D"][0]["box3d"]["rotation"] == {"w": 1.0, "x": 0.0, "y": 0.0, "z": 0.0}


def test_every_combination_gets_its_own_stable_id_and_comes_back() -> None:
    """Boxes and polygons of one category, objects sharing an instance, an instance without
    tracking: one Deepen label each, ids from the type's range, all back as they were."""
    b = {"xmin": 0, "ymin": 0, "xmax": 1, "ymax": 1}
    ring = [{"x": 0, "y": 0}, {"x": 1, "y": 0}, {"x": 1, "y": 1}]
    tb = {
        "BOX2D": [{"box2d": b, "category": "car", "instance": "1"}, {"box2d": b, "category": "car"},
                  {"box2d": b, "category": "bus", "instance": "1"}, {"box2d": b, "category": "car", "instance": "1"}],
        "POLYGON": [{"polygon": ring, "category": "car", "instance": "1"}, {"polygon": ring, "category": "car"}],
        "CLASSIFICATION": {"category": "car"},
    }  # fmt: skip
    docs = to_deepen("f", tb)
    assert [d["label_id"] for d in docs] == ["car:1", "car:500002", "bus:500003", "car:500004", "car:5500001", "car:1000001", "car:1500002"]
    assert len({(d["file_id"], d["label_id"]) for d in docs}) == len(docs)
    assert from_deepen(docs) == tb
    # the server's order depends on its upsert history: the desired order is restored
    assert align_order(from_deepen(docs[::-1]), tb) == tb
    # adding a box renumbers nothing of the polygons
    more = to_deepen("f", {**tb, "BOX2D": [*tb["BOX2D"], {"box2d": b, "category": "car"}]})
    assert [d["label_id"] for d in more if d["label_type"] == "polygon"] == ["car:1000001", "car:1500002"]


def test_align_order_only_reorders_the_same_objects() -> None:
    one, two = {"box2d": {"xmin": 1}, "category": "a"}, {"box2d": {"xmin": 2}, "category": "a"}
    assert align_order({"BOX2D": [two, one]}, {"BOX2D": [one, two]}) == {"BOX2D": [one, two]}
    assert align_order({"BOX2D": [two, two]}, {"BOX2D": [one, two]}) == {"BOX2D": [two, two]}


def test_labels_the_workforce_made_come_back_in_server_order() -> None:
    ours = to_deepen("f", {"BOX2D": [{"box2d": {"xmin": 0, "ymin": 0, "xmax": 1, "ymax": 1}, "category": "car"}]})
    theirs = [{"label_type": "box", "label_category_id": "car", "label_id": "car:77777777", "box": [5, 5, 1, 1]},
              {"label_type": "box", "label_category_id": "bus", "box": [6, 6, 1, 1]}]  # fmt: skip
    got = from_deepen([*theirs, *ours])["BOX2D"]
    assert [o["box2d"]["xmin"] for o in got] == [5, 6, 0]


def test_from_deepen_skips_unknown_types_and_bad_geometry() -> None:
    docs = [
        {"label_type": "3d_point", "label_category_id": "road"},
        {"label_type": "box", "label_category_id": "car", "box": [1, 2]},
        {"label_type": "3d_polyline", "label_category_id": "curb"},
    ]
    assert from_deepen(docs) == {}


@pytest.mark.parametrize(
    ("label", "message"),
    [
        ({"RLE": [{"rle": [1, 2], "category": "c"}]}, "RLE has no Deepen equivalent"),
        ({"CLASSIFICATION": {"attributes": {"a": 1}}}, "CLASSIFICATION without category"),
        ({"KEYPOINTS2D": [{"keypoints2d": [{"x": 1, "y": 1}, {"x": 2, "y": 2}], "category": "p"}]}, "single points"),
        ({"POLYLINE2D": [{"polyline2d": [{"x": 1, "y": 1}], "beizerPointTypes": "L", "category": "l"}]}, "beizerPointTypes"),
        ({"BOX2D": [{"box2d": {"xmin": 0, "ymin": 0, "xmax": 1, "ymax": 1}}]}, "without category"),
    ],
)
def test_labels_without_deepen_form(label: dict[str, Any], message: str) -> None:
    with pytest.raises(ConvertError, match=message):
        to_deepen("f", label)


CATALOG = {
    "BOX2D": {"categories": [{"name": "sign"}, {"name": "car"}],
              "attributes": [{"name": "state", "type": "string", "enum": ["readable", "faded"]}]},
    "POLYGON": {"categories": [{"name": "road"}]},
}  # fmt: skip

PROFILE = {
    "pipeline_spec": [
        {"stage_id": "Labelling", "can_edit": True, "skills": {"box": {}, "polygon": {}}},
        {"stage_id": "QA", "can_edit": False, "skills": {"box": {}, "polygon": {}}},
    ],
    "features": {
        "box": {"attributes": {"state": {"type": "string", "enum": ["readable", "faded"]}}, "label_category_ids": ["sign", "car"]},
        "polygon": {"attributes": {}, "label_category_ids": ["road"]},
    },
    "instructions": {"text": "Box every sign."},
    "notification_url": "",
}


def test_profile_from_catalog_and_back() -> None:
    assert profile_for(CATALOG, {"instructions": "Box every sign."}) == PROFILE
    assert catalog_from_profile(PROFILE) == CATALOG


def test_profile_pipeline_from_settings() -> None:
    profile = profile_for({}, {"pipeline": [{"stage_id": "Labelling", "can_edit": True}]})
    assert profile["pipeline_spec"] == [{"stage_id": "Labelling", "can_edit": True, "skills": {}}]
    assert profile["features"] == {}


def test_catalog_projection_drops_what_deepen_cannot_hold() -> None:
    catalog = {
        "BOX3D": {"categories": [{"name": "car", "description": "any car"}], "isTracking": True, "description": "boxes"},
        "KEYPOINTS2D": {"categories": [{"name": "head"}], "keypoints": [{"number": 1, "names": ["tip"]}]},
    }
    assert catalog_projection(catalog) == {
        "BOX3D": {"categories": [{"name": "car"}]},
        "KEYPOINTS2D": {"categories": [{"name": "head"}], "keypoints": [{"number": 1}]},
    }


def test_create_body_and_tags() -> None:
    body = create_body(
        "signs", {"dataset_type": "3d", "dataset_format": "json", "tags": ["a"], "fps": 10}, {},
        file_size=1234, digest="sha256:d", content="sha256:c", profile_id="P1",
    )
    assert {k: v for k, v in body.items() if k != "labelling_profile"} == {
        "dataset_name": "signs",
        "dataset_type": "3d",
        "dataset_format": "json",
        "labelling_mode": "frame_by_frame",
        "files": [{"file_size": 1234, "file_type": "application/zip"}],
        "tags": ["a", "labelsync-digest:sha256:d", "labelsync-content:sha256:c", "labelsync-profile:P1"],
        "labelling_profile_id": "P1",
        "fps": 10,
    }
    assert read_tag(body["tags"], DIGEST_TAG) == "sha256:d"
    assert read_tag(body["tags"], CONTENT_TAG) == "sha256:c"
    assert read_tag(body["tags"], PROFILE_TAG) == "P1"
    assert read_tag(["x"], DIGEST_TAG) is None
    assert user_tags(body["tags"]) == ["a"]


@pytest.mark.parametrize(
    ("resource", "profile", "desired", "settings"),
    [
        ({"dataset_type": "images", "dataset_format": None, "labelling_mode": "frame_by_frame", "tags": ["x", "labelsync-digest:s"]},
         PROFILE, {}, {"dataset_type": "images", "instructions": "Box every sign.", "tags": ["x"]}),
        ({"dataset_type": "3d", "dataset_format": "default", "labelling_mode": "label_by_label", "fps": 10},
         {"pipeline_spec": [{"stage_id": "Labelling", "can_edit": True}]}, {},
         {"dataset_type": "3d", "labelling_mode": "label_by_label", "pipeline": [{"stage_id": "Labelling", "can_edit": True}], "fps": 10}),
        ({"dataset_type": "3d", "dataset_format": "default"}, {}, {"dataset_format": "default"},
         {"dataset_type": "3d", "dataset_format": "default"}),
        ({"dataset_type": "3d", "dataset_format": "json"}, {}, {}, {"dataset_type": "3d", "dataset_format": "json"}),
    ],
)
def test_live_settings(resource: dict[str, Any], profile: dict[str, Any], desired: dict[str, Any], settings: dict[str, Any]) -> None:
    assert live_settings(resource, profile, desired) == settings


@pytest.mark.parametrize(
    ("path", "dataset_type", "fmt", "file_id"),
    [
        ("img/0001.png", "images", None, "img/0001.png"),
        ("0001.json", "3d", "json", "0001.pcd"),
        ("images/0001.png", "3d", "json", None),
        ("lidar/a.pcd", "3d", "default", "a.pcd"),
        ("config.json", "3d", "default", None),
        ("clip.mp4", "video", None, None),
    ],
)
def test_file_ids(path: str, dataset_type: str, fmt: str | None, file_id: str | None) -> None:
    assert file_id_for(path, dataset_type, fmt) == file_id


def test_remote_path_guess() -> None:
    assert remote_path_guess("0001.pcd", "3d", "json") == "0001.json"
    assert remote_path_guess("a.png", "images", None) == "a.png"


def test_content_digest_is_order_free_and_matches_plan_side() -> None:
    a = Item("a.png", Blob("11", 3))
    b = Item("b.png", Blob("22", 4))
    assert content_digest([a, b]) == content_digest([b, a]) == content_digest_of([("b.png", "22", 4), ("a.png", "11", 3)])
    assert content_digest([a]) != content_digest([Item("a.png", Blob("12", 3))])
