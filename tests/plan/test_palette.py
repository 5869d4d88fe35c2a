"""Category colours in the HTML report are distinct: a fixed, well-separated palette assigned
in the desired catalog's category order (issue 13: ``car`` and ``person`` of the quickstart
used to hash to nearly the same green)."""

from __future__ import annotations

import re
from itertools import combinations
from pathlib import Path

from PIL import Image
from ruamel.yaml import YAML

from labelsync.plan.model import Action, Change, DatasetPlan, FileChange, Kind, LabelState, Plan
from labelsync.plan.palette import CHECKED, MIN_DELTA_E, OKABE_ITO, CategoryColours, delta_e, palette_colour
from labelsync.plan.render_html import render_html, report_colours
from labelsync.plan.report_images import load_mask
from labelsync.plan.stats import catalog_categories, plan_stats
from labelsync.state import Blob, Dataset

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "quickstart" / "dataset.yaml"


def test_delta_e_is_cie76() -> None:
    assert round(delta_e("#000000", "#ffffff")) == 100
    assert delta_e("#35d411", "#35d411") == 0
    assert delta_e("#35d411", "#5fd411") < 10  # the old car and person greens: hard to tell apart


def test_every_pair_of_the_first_colours_is_well_separated() -> None:
    colours = [palette_colour(i) for i in range(CHECKED)]
    assert colours[: len(OKABE_ITO)] == list(OKABE_ITO)
    assert len(set(colours)) == CHECKED
    worst = min((delta_e(a, b), a, b) for a, b in combinations(colours, 2))
    assert worst[0] >= MIN_DELTA_E, worst
    assert all(re.fullmatch(r"#[0-9a-f]{6}", palette_colour(i)) for i in range(CHECKED, CHECKED + 300))


def test_colours_follow_the_given_order_then_the_order_asked() -> None:
    colours = CategoryColours(["car", "person", "car", "road"])
    assert [colours("road"), colours("person"), colours("car")] == [palette_colour(2), palette_colour(1), palette_colour(0)]
    assert colours("lane") == palette_colour(3) and colours("lane") == palette_colour(3)
    assert sorted(["lane", "road", "car"], key=colours.rank) == ["car", "road", "lane"]


def test_plan_stats_carry_the_catalog_order() -> None:
    catalog = {"CLASSIFICATION": {"categories": [{"name": "day"}]},
               "BOX2D": {"categories": [{"name": "car"}, {"name": "person", "renamedFrom": "pedestrian"}]}}
    assert catalog_categories(catalog) == [["CLASSIFICATION", "day"], ["BOX2D", "car"], ["BOX2D", "person"]]
    assert plan_stats(None, Dataset("q", "tensorbay", "normal", catalog=catalog))["categories"] == catalog_categories(catalog)
    assert "categories" not in plan_stats(None, Dataset("q", "tensorbay", "normal", catalog={}))


def _box(category: str, x: int) -> dict:
    return {"category": category, "box2d": {"xmin": x, "ymin": 5, "xmax": x + 10, "ymax": 40}}


def _quickstart_plan(tmp_path: Path) -> Plan:
    """The quickstart's desired catalog after issue 13's rename (pedestrian -> person), and a
    change that draws ``person`` before ``car`` (the colours must not depend on that)."""
    catalog = dict(YAML(typ="safe").load(EXAMPLE.read_text())["spec"]["catalog"])
    cats = catalog["BOX2D"]["categories"]
    catalog["BOX2D"] = {**catalog["BOX2D"], "categories": [c if c["name"] != "pedestrian" else {"name": "person"} for c in cats]}
    change = Change(
        Action.UPDATE, Kind.LABEL, "dataset.quickstart/segment.train/label.0001.png", segment="train",
        before=LabelState({"BOX2D": [_box("pedestrian", 40)]}),
        after=FileChange("0001.png", Blob("0" * 40, 1), label={"BOX2D": [_box("person", 40), _box("car", 5)]}, source="0001.png"),
    )  # fmt: skip
    stats = plan_stats(None, Dataset("quickstart", "tensorbay", "normal", catalog=catalog))
    renames = {"BOX2D": {"categories": {"pedestrian": "person"}}}
    ds = DatasetPlan("quickstart", "r", "tensorbay", "normal", "c", "d", changes=(change,), stats=stats, renames=renames)
    return Plan(datasets=(ds,), root=str(tmp_path))


def test_car_and_person_of_the_quickstart_differ_and_keep_their_colour_across_the_rename(tmp_path: Path) -> None:
    plan = _quickstart_plan(tmp_path)
    doc = render_html(plan)
    strokes = dict((cat, colour) for colour, cat in re.findall(r'<rect [^>]*stroke="(#[0-9a-f]{6})"[^>]*data-category="(\w+)"', doc))
    assert strokes["car"] == palette_colour(0) and strokes["person"] == palette_colour(1)  # catalog order, not drawing order
    assert strokes["pedestrian"] == strokes["person"]  # the old name is drawn in the new name's colour
    assert delta_e(strokes["car"], strokes["person"]) > MIN_DELTA_E
    legend = re.findall(r'<i style="background:(#[0-9a-f]{6})"></i>([^<]+)</span>', doc)
    assert legend == [(strokes["car"], "car"), (strokes["person"], "person (renamed from pedestrian)")], legend
    assert report_colours(plan)("person") == strokes["person"]


def test_a_mask_asks_colours_only_for_the_values_it_holds(tmp_path: Path) -> None:
    mask = Image.new("L", (8, 4), 0)
    for x in range(4):
        mask.putpixel((x, 0), 9)
        mask.putpixel((x + 4, 0), 3)
    mask.save(tmp_path / "m.png")
    asked: list[int] = []
    colours = CategoryColours()

    def colour_of(value: int) -> str:
        asked.append(value)
        return colours(f"instance {value}")

    pic = load_mask(tmp_path / "m.png", colour_of)
    assert pic is not None and pic.values == (3, 9)
    assert asked == [3, 9]  # no palette slot spent on values the mask does not hold
