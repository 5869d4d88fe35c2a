"""Renames in the review views: the statistics table shows one row per rename
(``bus -> coach  312 -> 312``) in text, markdown and HTML, and the HTML report draws the
labels that follow a rename in the new name's colour with the legend naming the rename."""

from __future__ import annotations

import re
from pathlib import Path

from labelsync.plan.model import Action, Change, DatasetPlan, FileChange, Kind, LabelState, Plan
from labelsync.plan.render_html import render_html, report_colours
from labelsync.plan.render_markdown import render_markdown
from labelsync.plan.render_stats import changed_rows
from labelsync.plan.render_text import render_text
from labelsync.plan.stats import stat_rows
from labelsync.state import Blob

RENAMES = {"BOX2D": {"categories": {"bus": "coach"}, "attributes": {"hidden": "occluded"},
                     "values": {"colour": [{"from": "red", "to": "crimson"}]}}}


def side(bus: int, coach: int, car: int, hidden: int, occluded: int, red: int, crimson: int) -> dict:
    cats = {k: v for k, v in {"bus": bus, "coach": coach, "car": car}.items() if v}
    attrs = {}
    if hidden:
        attrs["hidden"] = {"true": hidden}
    if occluded:
        attrs["occluded"] = {"true": occluded}
    attrs["colour"] = {k: v for k, v in {'"red"': red, '"crimson"': crimson}.items() if v}
    return {"segments": {"train": {"items": 400, "unlabelled": 0,
                                   "types": {"BOX2D": {"labels": bus + coach + car, "categories": cats, "attributes": attrs}}}}}


BEFORE = side(bus=312, coach=0, car=10, hidden=5, occluded=0, red=7, crimson=0)
AFTER = side(bus=0, coach=312, car=11, hidden=0, occluded=5, red=0, crimson=7)


def test_a_rename_is_one_row_with_both_names() -> None:
    rows = {(r.what, r.name): r for r in stat_rows(BEFORE, AFTER, RENAMES)}
    coach = rows[("category", "bus -> coach")]
    assert (coach.before, coach.after, coach.renamed, coach.changed) == (312, 312, True, True)
    assert ("category", "bus") not in rows and ("category", "coach") not in rows
    assert rows[("attribute", "hidden -> occluded=true")].before == 5
    assert rows[("attribute", 'colour="red" -> "crimson"')].after == 7
    assert not rows[("category", "car")].renamed
    # without the renames it is a remove and an add
    plain = {(r.what, r.name): r for r in stat_rows(BEFORE, AFTER)}
    assert (plain[("category", "bus")].after, plain[("category", "coach")].before) == (0, 0)


def test_an_applied_rename_is_no_longer_a_rename_row() -> None:
    rows = stat_rows(AFTER, AFTER, RENAMES)
    assert not any(r.renamed for r in rows)
    assert changed_rows({"before": AFTER, "after": AFTER}, RENAMES)[0] == []


def _plan(tmp_path: Path) -> Plan:
    change = Change(Action.UPDATE, Kind.LABEL, "dataset.city/segment.train/label.a.png", segment="train",
                    before=LabelState({"BOX2D": [{"category": "bus", "box2d": {"xmin": 1, "ymin": 1, "xmax": 9, "ymax": 9}}]}),
                    after=FileChange("a.png", Blob("0" * 40, 1), label={"BOX2D": [{"category": "coach", "box2d": {"xmin": 1, "ymin": 1, "xmax": 9, "ymax": 9}}]},
                                     source="img/a.png"))
    ds = DatasetPlan("city", "r", "tensorbay", "normal", "c", "d", changes=(change,),
                     stats={"before": BEFORE, "after": AFTER}, renames=RENAMES)
    return Plan(datasets=(ds,), root=str(tmp_path))


def test_text_markdown_and_html_tables_show_the_rename(tmp_path: Path) -> None:
    plan = _plan(tmp_path)
    text = render_text(plan)
    assert re.search(r"train  BOX2D bus -> coach\s+312 -> 312\n", text), text
    assert "(-312)" not in text and "(+312)" not in text
    md = render_markdown(plan)
    assert "| `train` | `BOX2D bus -> coach` | 312 | 312 | renamed |" in md, md
    doc = render_html(plan)
    assert "<td>BOX2D bus -&gt; coach</td>" in doc and '<td class="n">renamed</td>' in doc


def test_html_draws_the_followers_in_the_new_colour_and_the_legend_names_the_rename(tmp_path: Path) -> None:
    plan = _plan(tmp_path)
    doc = render_html(plan)
    coach = report_colours(plan)("coach")
    rects = re.findall(r'<rect [^>]*stroke="(#[0-9a-f]{6})"[^>]*data-category="(\w+)"', doc)
    assert rects == [(coach, "bus"), (coach, "coach")], rects
    assert "<title>box2d bus -&gt; coach</title>" in doc
    assert f'<i style="background:{coach}"></i>coach (renamed from bus)</span>' in doc
    assert doc.count('<i style="background:') == 1  # the old name takes no colour of its own
