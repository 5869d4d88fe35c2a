"""Masks in the HTML report are coloured by category, with the legend's colours: a semantic
mask's pixel value is a category id, a panoptic mask's value an instance whose info names its
category; the names come from the plan's statistics (the desired catalog's ids)."""

from __future__ import annotations

import base64
import io
import re
from pathlib import Path

from PIL import Image

from labelsync.plan.model import Action, Change, DatasetPlan, FileChange, Kind, LabelState, MaskUpload, Plan
from labelsync.plan.render_html import render_html, report_colours
from labelsync.plan.stats import plan_stats
from labelsync.state import Blob, Dataset

CATALOG = {"SEMANTIC_MASK": {"categories": [{"categoryId": 1, "name": "road"}, {"categoryId": 2, "name": "sky"}]},
           "PANOPTIC_MASK": {"categories": [{"categoryId": 1, "name": "road"}, {"categoryId": 7, "name": "tree"}]}}


def rgb(colour: str) -> tuple[int, int, int]:
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


def mask_plan(tmp_path: Path, mask_type: str, pixels: dict[tuple[int, int], int], value: dict) -> Plan:
    (tmp_path / "img").mkdir(exist_ok=True)
    Image.new("RGB", (40, 20), (128, 128, 128)).save(tmp_path / "img/m.png")
    (tmp_path / "masks").mkdir(exist_ok=True)
    mask = Image.new("L", (40, 20), 0)
    for (x0, x1), v in pixels.items():
        for x in range(x0, x1):
            for y in range(20):
                mask.putpixel((x, y), v)
    mask.save(tmp_path / "masks/m.png")
    change = Change(Action.UPDATE, Kind.LABEL, "dataset.city/segment.day/label.m.png", segment="day", before=LabelState({}),
                    after=FileChange("m.png", Blob("0" * 40, 1), label={mask_type: value}, source="img/m.png",
                                     masks=(MaskUpload(mask_type, Blob("1" * 40, 2), "masks/m.png"),)))
    stats = plan_stats(None, Dataset("city", "tensorbay", "normal", catalog=CATALOG))
    return Plan(datasets=(DatasetPlan("city", "r", "tensorbay", "normal", "c", "d", changes=(change,), stats=stats),), root=str(tmp_path))


def overlay(doc: str) -> Image.Image:
    uris = re.findall(r'<image href="data:image/png;base64,([^"]+)" x="0" y="0" width="40" height="20"', doc)
    assert len(uris) == 1, doc
    return Image.open(io.BytesIO(base64.b64decode(uris[0]))).convert("RGBA")


def test_plan_stats_carry_the_mask_category_ids() -> None:
    stats = plan_stats(None, Dataset("city", "tensorbay", "normal", catalog=CATALOG))
    assert stats["masks"] == {"SEMANTIC_MASK": {"1": "road", "2": "sky"}, "PANOPTIC_MASK": {"1": "road", "7": "tree"}}
    assert "masks" not in plan_stats(None, Dataset("city", "tensorbay", "normal", catalog={}))


def test_a_semantic_mask_is_drawn_in_its_categories_colours(tmp_path: Path) -> None:
    plan = mask_plan(tmp_path, "SEMANTIC_MASK", {(0, 20): 1, (20, 40): 2}, {"path": "m.png"})
    doc = render_html(plan)
    category_colour = report_colours(plan)
    img = overlay(doc)
    assert img.getpixel((5, 5))[:3] == rgb(category_colour("road"))
    assert img.getpixel((30, 5))[:3] == rgb(category_colour("sky"))
    for name in ("road", "sky"):
        assert f'<i style="background:{category_colour(name)}"></i>{name}</span>' in doc
    assert "tree" not in doc  # only the categories the mask holds join the legend


def test_a_panoptic_mask_colours_each_instance_by_its_category(tmp_path: Path) -> None:
    info = [{"instanceId": 5, "categoryId": 7}, {"instanceId": 6, "categoryId": 7}, {"instanceId": 9, "categoryId": 1}]
    plan = mask_plan(tmp_path, "PANOPTIC_MASK", {(0, 10): 5, (10, 20): 6, (20, 40): 9}, {"path": "m.png", "info": info})
    doc = render_html(plan)
    category_colour = report_colours(plan)
    img = overlay(doc)
    tree = rgb(category_colour("tree"))
    assert img.getpixel((5, 5))[:3] == tree and img.getpixel((15, 5))[:3] == tree  # two trees, one colour
    assert img.getpixel((30, 5))[:3] == rgb(category_colour("road"))
    assert img.getpixel((30, 5))[3] > 0
    assert f'<i style="background:{category_colour("tree")}"></i>tree</span>' in doc
