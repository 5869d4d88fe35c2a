"""plan.catalogdiff: catalog changes named one by one, breaking or not, with live labels touched."""

from __future__ import annotations

from labelsync.plan.catalogdiff import catalog_changes
from labelsync.plan.model import Action, Change, DatasetPlan, Kind, Plan
from labelsync.plan.render_markdown import render_markdown
from labelsync.plan.render_text import render_text

LIVE = {
    "segments": {
        "train": {
            "items": 10,
            "unlabelled": 0,
            "types": {
                "BOX2D": {
                    "labels": 352,
                    "categories": {"bus": 312, "car": 40},
                    "attributes": {"colour": {'"red"': 12, '"blue"': 3}, "truncation": {"*": 40}},
                },
                "KEYPOINTS2D": {"labels": 9, "categories": {"person": 9}, "attributes": {}},
            },
        }
    }
}

BEFORE = {
    "BOX2D": {
        "categories": [{"name": "aeroplane"}, {"name": "bus"}, {"name": "car"}],
        "attributes": [
            {"name": "colour", "enum": ["red", "blue"]},
            {"name": "truncation", "type": "number", "minimum": 0, "maximum": 1},
            {"name": "occluded", "type": "boolean"},
        ],
    },
    "KEYPOINTS2D": {"categories": [{"name": "person"}], "keypoints": [{"number": 17}]},
    "BOX3D": {"categories": [{"name": "car"}]},
}
AFTER = {
    "BOX2D": {
        "categories": [{"name": "aeroplane"}, {"name": "car"}, {"name": "coach"}],
        "attributes": [
            {"name": "colour", "enum": ["blue", "green"]},
            {"name": "truncation", "type": "number", "minimum": 0, "maximum": 0.5},
            {"name": "size", "type": "integer", "minimum": 0},
        ],
        "isTracking": True,
    },
    "KEYPOINTS2D": {"categories": [{"name": "person"}], "keypoints": [{"number": 18}]},
    "POLYGON": {"categories": [{"name": "road"}]},
}


def test_every_kind_of_change_named_flagged_and_counted() -> None:
    assert [c.line() for c in catalog_changes(BEFORE, AFTER, LIVE)] == [
        "+ BOX2D category coach",
        "- BOX2D category bus  (breaking; 312 live labels)",
        "+ BOX2D attribute size (integer [0, null])",
        "- BOX2D attribute occluded  (breaking; 0 live labels)",
        '~ BOX2D attribute colour: enum + "green"',
        '~ BOX2D attribute colour: enum - "red"  (breaking; 12 live labels)',
        "~ BOX2D attribute truncation: range [0, 1] -> [0, 0.5]  (breaking; 40 live labels)",
        "~ BOX2D isTracking: false -> true",
        "- label type BOX3D  (breaking; 0 live labels)",
        "~ KEYPOINTS2D keypoints: definition 0 changed (17 -> 18 points)  (breaking; 9 live labels)",
        "+ label type POLYGON",
    ]


def test_widening_and_descriptions_are_not_breaking() -> None:
    a = {"BOX2D": {"categories": [{"name": "car"}], "attributes": [{"name": "t", "type": "number", "minimum": 0, "maximum": 1}]}}
    b = {"BOX2D": {"categories": [{"name": "car", "description": "any car"}], "attributes": [{"name": "t", "type": "number", "minimum": -1}]}}
    changes = catalog_changes(a, b)
    assert [c.line() for c in changes] == [
        '~ BOX2D category car: description null -> "any car"',
        "~ BOX2D attribute t: range [0, 1] -> [-1, null]",
    ]
    assert not any(c.breaking for c in changes)
    narrower = {"BOX2D": {"attributes": [{"name": "t", "type": "integer", "parentCategories": ["car"]}]}}
    lines = [c.line() for c in catalog_changes({"BOX2D": {"attributes": [{"name": "t", "type": "number"}]}}, narrower)]
    assert lines == [
        '~ BOX2D attribute t: parentCategories null -> ["car"]  (breaking)',
        '~ BOX2D attribute t: type "number" -> "integer"  (breaking)',
    ]


def test_plan_views_show_named_changes_and_never_cut_json() -> None:
    """The issue's case: a renamed category used to show two JSON values cut at one prefix."""
    change = Change(Action.UPDATE, Kind.CATALOG, "dataset.voc/catalog", before=BEFORE, after=AFTER, breaking=True,
                    reason="BOX2D category 'bus' removed")  # fmt: skip
    plan = Plan(datasets=(DatasetPlan("voc", "r", "tensorbay", "normal", "c", "d", changes=(change,), stats={"before": LIVE, "after": LIVE}),))
    text = render_text(plan)
    assert "      + BOX2D category coach\n      - BOX2D category bus  (breaking; 312 live labels)\n" in text
    assert "..." not in text and '{"categories"' not in text
    md = render_markdown(plan)
    assert "    + BOX2D category coach\n    - BOX2D category bus  (breaking; 312 live labels)\n" in md
    assert '{"categories"' not in md
