"""The C-level fast paths of the label checks accept only what the per-value checks accept."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from labelsync.local.catalogindex import CatalogIndex
from labelsync.local.labelrules import LabelChecker, _plain_points, _plain_visibility

GOOD = [{"x": 1, "y": 2.5}, {"x": 0, "y": -3}, {"x": 1e3, "y": 4}]


@pytest.mark.parametrize("bad", [
    {"x": True, "y": 1}, {"x": 1, "y": float("nan")}, {"x": 1, "y": float("inf")}, {"x": 1, "y": "2"},
    {"x": 1, "y": None}, {"x": 1, "z": 2}, {"x": 1}, {"x": 1, "y": 2, "v": 2}, [1, 2], "xy", 7,
])
def test_plain_points_refuses_anything_unusual(bad: Any) -> None:
    assert _plain_points(GOOD, with_v=False)
    assert not _plain_points([*GOOD, bad], with_v=False)


def test_plain_points_with_visibility_and_huge_sums() -> None:
    assert _plain_points([{"x": 1, "y": 2, "v": 2}], with_v=True)
    assert not _plain_points([{"x": 1, "y": 2}], with_v=True)  # v is optional: the per-point path decides
    assert not _plain_points([{"x": 1, "y": 2, "w": 2}], with_v=True)
    assert not _plain_points([{"x": 1e308, "y": 1e308}], with_v=False)  # the sum overflows: look closer
    assert _plain_visibility([{"v": 0}, {"v": 2}], (0, 1, 2))
    assert not _plain_visibility([{"v": 2}], (0, 1))
    assert not _plain_visibility([{"v": True}], (0, 1))
    assert not _plain_visibility([{"x": 1}], (0, 1))


def _problems(label: dict[str, Any]) -> list[tuple[Any, str]]:
    catalog = {"POLYGON": {}, "RLE": {},
               "KEYPOINTS2D": {"categories": [{"name": "p"}],
                               "keypoints": [{"number": 2, "visible": "BINARY", "parentCategories": ["p"]}]}}
    out: list[tuple[Any, str]] = []
    checker = LabelChecker(CatalogIndex(catalog), lambda path, message, hint=None: out.append((path, message)),
                           Path("."), None)
    checker.label(label, ("label",))
    return out


def test_the_checker_still_reports_what_the_fast_paths_leave_out() -> None:
    assert _problems({"POLYGON": [{"polygon": GOOD}], "RLE": [{"rle": [3, 0, 2]}],
                      "KEYPOINTS2D": [{"keypoints2d": [{"x": 1, "y": 2, "v": 0}, {"x": 1, "y": 2, "v": 1}],
                                       "category": "p"}]}) == []
    assert _problems({"POLYGON": [{"polygon": [*GOOD, {"x": True, "y": 1}]}]}) == [
        (("label", "POLYGON", 0, "polygon", 3, "x"), "'x' must be a number, got boolean")]
    assert _problems({"RLE": [{"rle": [3, -1, True]}]}) == [
        (("label", "RLE", 0, "rle", 1), "RLE counts must be non-negative integers, got -1"),
        (("label", "RLE", 0, "rle", 2), "RLE counts must be non-negative integers, got true")]
    assert _problems({"KEYPOINTS2D": [{"keypoints2d": [{"x": 1, "y": 2, "v": 2}, {"x": 1, "y": 2}],
                                       "category": "p"}]}) == [
        (("label", "KEYPOINTS2D", 0, "keypoints2d", 0, "v"), "keypoint visibility 'v' must be 0, 1 (BINARY), got 2")]
