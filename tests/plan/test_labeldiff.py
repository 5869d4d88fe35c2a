"""plan.labeldiff: label-level differences, and the differ agreeing on what is no change."""

from __future__ import annotations

import pytest

from labelsync.plan.differ import build_dataset_plan
from labelsync.plan.labeldiff import diff_labels, label_of, labels_equal
from labelsync.state import Blob, Dataset, Desired, Item, Live, Policy, Segment, dataset_digest


def box(cat: str, x0: float, y0: float, x1: float, y1: float, **attrs: object) -> dict:
    out: dict = {"category": cat, "box2d": {"xmin": x0, "ymin": y0, "xmax": x1, "ymax": y1}}
    if attrs:
        out["attributes"] = attrs
    return out


def poly(cat: str, n: int) -> dict:
    return {"category": cat, "polygon": [{"x": i, "y": i * 2} for i in range(n)]}


def lines(before: dict, after: dict) -> list[str]:
    return [d.line() for d in diff_labels({"label": before}, {"label": after})]


def test_issue_examples() -> None:
    before = {
        "BOX2D": [box("car", 10, 20, 110, 220), box("bus", 0, 0, 5, 5)],
        "KEYPOINTS2D": [{"category": "person", "keypoints2d": [{"x": 1, "y": 1}, {"x": 2, "y": 2}]}],
        "CLASSIFICATION": {"category": "day"},
    }
    after = {
        "BOX2D": [box("bus", 0, 0, 5, 5), box("car", 12, 20, 112, 220)],
        "POLYGON": [poly("road", 14)],
        "CLASSIFICATION": {"category": "night"},
    }
    assert lines(before, after) == [
        "~ box2d car [10,20,110,220] -> [12,20,112,220]",
        "~ classification day -> night",
        "- keypoints2d person (2 pts)",
        "+ polygon road (14 pts)",
    ]


def test_reordered_identical_labels_are_no_change() -> None:
    a = {"BOX2D": [box("car", 1, 2, 3, 4), box("bus", 5, 6, 7, 8), box("car", 1, 2, 3, 4)]}
    b = {"BOX2D": [a["BOX2D"][1], a["BOX2D"][2], a["BOX2D"][0]]}
    assert lines(a, b) == []
    assert labels_equal(a, b)
    # a duplicate is not the same as one label
    assert lines(a, {"BOX2D": a["BOX2D"][:2]}) == ["- box2d car [1,2,3,4]"]
    assert not labels_equal(a, {"BOX2D": a["BOX2D"][:2]})


def test_category_and_attribute_edits_pair_by_geometry() -> None:
    before = {"BOX2D": [box("car", 1, 2, 3, 4, occluded=False), box("car", 50, 50, 60, 60)]}
    after = {"BOX2D": [box("truck", 1, 2, 3, 4, occluded=True), box("car", 50, 50, 60, 60)]}
    assert lines(before, after) == ["~ box2d car -> truck [1,2,3,4] occluded: false -> true"]


def test_same_category_pairs_with_the_nearest_box() -> None:
    before = {"BOX2D": [box("car", 0, 0, 10, 10), box("car", 100, 100, 110, 110)]}
    after = {"BOX2D": [box("car", 101, 100, 111, 110), box("car", 1, 0, 11, 10)]}
    assert lines(before, after) == [
        "~ box2d car [0,0,10,10] -> [1,0,11,10]",
        "~ box2d car [100,100,110,110] -> [101,100,111,110]",
    ]


def test_instances_pair_first_and_other_types_summarise() -> None:
    before = {"POLYLINE2D": [{"category": "lane", "instance": "7", "polyline2d": [{"x": 0, "y": 0}, {"x": 1, "y": 1}]}]}
    after = {
        "POLYLINE2D": [{"category": "lane", "instance": "7", "polyline2d": [{"x": 0, "y": 0}, {"x": 2, "y": 2}]}],
        "MULTI_POLYGON": [{"category": "lot", "multiPolygon": [[{"x": 0, "y": 0}] * 3, [{"x": 1, "y": 1}] * 4]}],
        "BOX3D": [{"category": "car", "box3d": {"translation": {"x": 1, "y": 2, "z": 3}, "rotation": {"w": 1, "x": 0, "y": 0, "z": 0}, "size": {"x": 4, "y": 2, "z": 1.5}}}],
        "SEMANTIC_MASK": {"checksum": "c" * 40, "fileSize": 3},
    }
    assert lines(before, after) == [
        "+ box3d car at (1,2,3) size 4x2x1.5",
        "+ multi_polygon lot (2 polygons, 7 pts)",
        "~ polyline2d lane (2 pts) (points moved)",
        "+ semantic_mask",
    ]
    changed_mask = {"SEMANTIC_MASK": {"checksum": "d" * 40, "fileSize": 3}}
    assert lines({"SEMANTIC_MASK": after["SEMANTIC_MASK"]}, changed_mask) == ["~ semantic_mask (content changed)"]


def test_classification_added_removed_and_attributes() -> None:
    assert lines({}, {"CLASSIFICATION": {"category": "day"}}) == ["+ classification day"]
    assert lines({"CLASSIFICATION": {"category": "day", "attributes": {"rain": True}}}, {}) == ["- classification day rain: true"]
    assert lines(
        {"CLASSIFICATION": {"category": "day", "attributes": {"rain": True}}},
        {"CLASSIFICATION": {"category": "day", "attributes": {"rain": False, "fog": 1}}},
    ) == ["~ classification day +fog: 1, rain: true -> false"]


@pytest.mark.parametrize(
    ("value", "label"),
    [
        (None, {}),
        ({"label": {"BOX2D": []}, "checksum": "x"}, {"BOX2D": []}),
        ({"BOX2D": []}, {"BOX2D": []}),
        ({"checksum": "x", "source": "a"}, {}),  # a fingerprint without a label
        ({"files": 3}, {}),
    ],
)
def test_label_of(value: object, label: dict) -> None:
    assert label_of(value) == label


def _plan(live_label: dict, want_label: dict):
    blob = Blob("a" * 40, 1)

    def dataset(label: dict) -> Dataset:
        item = Item("a.png", blob, label=label, source="/r/a.png")
        return Dataset("d", "tensorbay", "normal", segments={"s": Segment("s", items={"a.png": item})})

    want = Desired(dataset(want_label), Policy(), dataset_digest(dataset(want_label)))
    return build_dataset_plan(want, Live(dataset(live_label), head="c"))


def test_the_differ_agrees_that_reordering_is_no_change() -> None:
    a = {"BOX2D": [box("car", 1, 2, 3, 4), box("bus", 5, 6, 7, 8)]}
    assert _plan(a, {"BOX2D": list(reversed(a["BOX2D"]))}).changes == ()
    moved = {"BOX2D": [box("car", 1, 2, 3, 5), box("bus", 5, 6, 7, 8)]}
    (change,) = _plan(a, moved).changes
    assert [d.line() for d in diff_labels(change.before, change.after)] == ["~ box2d car [1,2,3,4] -> [1,2,3,5]"]
