"""plan.stats and plan.render_stats: counts per segment, type, category and enum value."""

from __future__ import annotations

from labelsync.plan.model import DatasetPlan, Plan
from labelsync.plan.render_markdown import render_markdown
from labelsync.plan.render_stats import text_lines
from labelsync.plan.render_text import render_text
from labelsync.plan.serialize import dumps_plan, loads_plan
from labelsync.plan.stats import dataset_stats, plan_stats, stat_rows, touches
from labelsync.state import Blob, Dataset, Item, Segment

CATALOG = {
    "BOX2D": {
        "categories": [{"name": "car"}, {"name": "bus"}],
        "attributes": [
            {"name": "occluded", "type": "boolean"},
            {"name": "colour", "enum": ["red", "blue"]},
            {"name": "score", "type": "number"},
        ],
    },
    "CLASSIFICATION": {"categories": [{"name": "day"}, {"name": "night"}]},
}


def car(**attrs: object) -> dict:
    return {"category": "car", "box2d": {"xmin": 0, "ymin": 0, "xmax": 1, "ymax": 1}, "attributes": attrs}


def dataset(labels: dict[str, dict]) -> Dataset:
    items = {p: Item(p, Blob("a" * 40, 1), label=lab) for p, lab in labels.items()}
    return Dataset("city", "tensorbay", "normal", catalog=CATALOG, segments={"train": Segment("train", items=items)})


BEFORE = dataset({
    "a": {"BOX2D": [car(occluded=True, colour="red", score=0.5), car(occluded=False)], "CLASSIFICATION": {"category": "day"}},
    "b": {},
    "c": {"BOX2D": [{"category": "bus", "box2d": {"xmin": 0, "ymin": 0, "xmax": 1, "ymax": 1}}]},
})
AFTER = dataset({
    "a": {"BOX2D": [car(occluded=True, colour="blue", score=0.7), car(occluded=False), car()], "CLASSIFICATION": {"category": "night"}},
    "b": {"CLASSIFICATION": {"category": "day"}},
    "c": {},
    "d": {},
})


def test_dataset_stats() -> None:
    seg = dataset_stats(BEFORE)["segments"]["train"]
    assert seg["items"] == 3 and seg["unlabelled"] == 1
    assert seg["types"]["BOX2D"] == {
        "labels": 3,
        "categories": {"car": 2, "bus": 1},
        "attributes": {"occluded": {"true": 1, "false": 1}, "colour": {'"red"': 1}, "score": {"*": 1}},
    }
    assert dataset_stats(None) == {"segments": {}}


def test_rows_before_after_with_delta() -> None:
    stats = plan_stats(BEFORE, AFTER)
    changed = [r for r in stat_rows(stats["before"], stats["after"]) if r.changed]
    assert text_lines(changed) == [
        "train  items                  3 -> 4 (+1)",
        "train  items with no labels   1 -> 2 (+1)",
        "train  BOX2D bus              1 -> 0 (-1)",
        "train  BOX2D car              2 -> 3 (+1)",
        'train  BOX2D colour="blue"    0 -> 1 (+1)',
        'train  BOX2D colour="red"     1 -> 0 (-1)',
        "train  CLASSIFICATION labels  1 -> 2 (+1)",
        "train  CLASSIFICATION night   0 -> 1 (+1)",
    ]  # unchanged counts (occluded, CLASSIFICATION day, BOX2D labels) are left out
    assert touches(stats["before"], "BOX2D", category="car") == 2
    assert touches(stats["before"], "BOX2D", attribute="colour", values=['"red"']) == 1
    assert touches(stats["before"], "BOX2D") == 3


def test_big_numbers_have_separators() -> None:
    many = dataset({f"{i}": {"BOX2D": [car()]} for i in range(1204)})
    more = dataset({f"{i}": {"BOX2D": [car()]} for i in range(1251)})
    stats = plan_stats(many, more)
    rows = [r for r in stat_rows(stats["before"], stats["after"]) if r.what == "category"]
    assert text_lines(rows) == ["train  BOX2D car  1,204 -> 1,251 (+47)"]


def _plan() -> Plan:
    return Plan(datasets=(DatasetPlan("city", "r", "tensorbay", "normal", "c", "d", stats=plan_stats(BEFORE, AFTER)),))


def test_shown_in_text_and_markdown_summaries_and_saved() -> None:
    plan = _plan()
    assert loads_plan(dumps_plan(plan)).datasets[0].stats == plan.datasets[0].stats
    # a plan with no changes shows no statistics; with changes it does
    from dataclasses import replace

    from labelsync.plan.model import Action, Change, Kind

    change = Change(Action.UPDATE, Kind.LABEL, "dataset.city/segment.train/label.a", segment="train")
    plan = Plan(datasets=(replace(plan.datasets[0], changes=(change,)),))
    text = render_text(plan)
    assert "    labels (before -> after):\n      train  items " in text
    assert "      train  BOX2D car              2 -> 3 (+1)\n" in text
    assert "      (" in text and "counts unchanged)" in text
    md = render_markdown(plan)
    assert "| `city` | `train` | `BOX2D car` | 2 | 3 | +1 |" in md
    assert "counts unchanged." in md
