"""The HTML report in a real browser: headless Chromium draws a known box at the right pixels,
and a semantic mask in its category's legend colour.

Needs Debian's ``chromium`` (``.ci/run`` installs it). Without it the test is skipped with
the reason, unless ``LABELSYNC_REQUIRE`` lists ``browser`` (CI), which makes that a failure.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from labelsync.plan.model import Action, Change, DatasetPlan, FileChange, Kind, LabelState, MaskUpload, Plan
from labelsync.plan.render_html import render_html, report_colours
from labelsync.plan.stats import plan_stats
from labelsync.state import Blob, Dataset

pytestmark = pytest.mark.browser

GREY = (128, 128, 128)
WIDTH, HEIGHT = 200, 100
BEFORE = (20, 20, 60, 60)
AFTER = (40, 20, 160, 80)


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        pytest.skip("headless Chromium is not installed (Debian: apt-get install -y chromium)")
    return found


def box(x0: int, y0: int, x1: int, y1: int) -> dict:
    return {"BOX2D": [{"category": "car", "box2d": {"xmin": x0, "ymin": y0, "xmax": x1, "ymax": y1}}]}


def screenshot(browser: str, page: Path, out: Path, profile: Path) -> None:
    done = subprocess.run(
        [
            browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run",
            "--force-device-scale-factor=1", f"--user-data-dir={profile}", "--window-size=1000,900",
            f"--screenshot={out}", page.as_uri(),
        ],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0 and out.is_file(), done.stderr[-2000:]


def grey_panels(img) -> list[tuple[int, int, int, int]]:
    """Bounding boxes (x0, y0, x1, y1) of the grey picture's panels, left to right: runs of
    columns that are mostly grey, then the rows of each run that are mostly grey (text
    anti-aliasing makes scattered grey pixels elsewhere)."""
    px = img.load()
    w, h = img.size
    grey = [[all(abs(c - v) <= 4 for c, v in zip(px[x, y][:3], GREY, strict=True)) for x in range(w)] for y in range(h)]
    cols = [x for x in range(w) if sum(grey[y][x] for y in range(h)) >= 30]
    runs: list[list[int]] = [[cols[0]]] if cols else []
    for x in cols[1:]:
        if x - runs[-1][-1] > 3:
            runs.append([])
        runs[-1].append(x)
    out = []
    for run in (r for r in runs if len(r) > 20):
        rows = [y for y in range(h) if sum(grey[y][x] for x in range(run[0], run[-1] + 1)) * 2 >= len(run)]
        out.append((run[0], rows[0], run[-1], rows[-1]))
    return out


def near(px, x: int, y: int, colour: tuple[int, int, int], tol: int = 40) -> bool:
    """``colour`` within ``tol`` at (x, y) or a neighbour (anti-aliasing of a 2 px line)."""
    for dx in (-1, 0, 1):
        for dy in (-1, 0, 1):
            got = px[x + dx, y + dy][:3]
            if sum(abs(a - b) for a, b in zip(got, colour, strict=True)) <= tol:
                return True
    return False


def test_the_box_of_a_known_label_is_drawn_at_the_right_pixels_in_its_colour(tmp_path: Path) -> None:
    browser = chromium()
    image_mod = pytest.importorskip("PIL.Image", reason="the html extra (Pillow) is not installed")
    image_mod.new("RGB", (WIDTH, HEIGHT), GREY).save(tmp_path / "a.png")
    change = Change(
        Action.UPDATE, Kind.LABEL, "dataset.city/segment.day/label.a.png", segment="day",
        before=LabelState(box(*BEFORE)), after=FileChange("a.png", Blob("0" * 40, 1), label=box(*AFTER), source="a.png"),
    )  # fmt: skip
    plan = Plan(datasets=(DatasetPlan("city", "r", "tensorbay", "normal", "c", "d", changes=(change,)),), root=str(tmp_path))
    page = tmp_path / "plan.html"
    page.write_text(render_html(plan), encoding="utf-8")
    shot = tmp_path / "shot.png"
    screenshot(browser, page, shot, tmp_path / "profile")

    img = image_mod.open(shot).convert("RGB")
    panels = grey_panels(img)
    assert len(panels) == 2, panels  # before and after, side by side
    car = tuple(int(report_colours(plan)("car")[i : i + 2], 16) for i in (1, 3, 5))
    px = img.load()
    for (x0, y0, x1, y1), (bx0, by0, bx1, by1) in zip(panels, (BEFORE, AFTER), strict=True):
        sx, sy = (x1 - x0 + 1) / WIDTH, (y1 - y0 + 1) / HEIGHT
        assert abs(sx - sy) < 0.02  # aspect ratio kept

        def at(x: float, y: float, x0: int = x0, y0: int = y0, sx: float = sx, sy: float = sy) -> tuple[int, int]:
            return round(x0 + x * sx), round(y0 + y * sy)

        mid_y = (by0 + by1) / 2
        mid_x = (bx0 + bx1) / 2
        for x, y in ((bx0, mid_y), (bx1, mid_y), (mid_x, by0), (mid_x, by1)):  # the four edges
            assert near(px, *at(x, y), car), (at(x, y), px[at(x, y)])
        assert near(px, *at(mid_x, mid_y), GREY, tol=12)  # the inside is the picture, not filled
        assert near(px, *at(bx0 - 8, mid_y), GREY, tol=12)  # and nothing is drawn outside the box


def test_a_semantic_mask_is_drawn_in_its_categorys_legend_colour(tmp_path: Path) -> None:
    browser = chromium()
    image_mod = pytest.importorskip("PIL.Image", reason="the html extra (Pillow) is not installed")
    image_mod.new("RGB", (WIDTH, HEIGHT), GREY).save(tmp_path / "a.png")
    mask = image_mod.new("L", (WIDTH, HEIGHT), 0)
    mask.paste(2, (80, 30, 120, 70))  # category id 2: sky (the catalog's second category)
    mask.save(tmp_path / "m.png")
    change = Change(
        Action.UPDATE, Kind.LABEL, "dataset.city/segment.day/label.a.png", segment="day", before=LabelState({}),
        after=FileChange("a.png", Blob("0" * 40, 1), label={"SEMANTIC_MASK": {"path": "m.png"}}, source="a.png",
                         masks=(MaskUpload("SEMANTIC_MASK", Blob("1" * 40, 2), "m.png"),)),
    )  # fmt: skip
    catalog = {"SEMANTIC_MASK": {"categories": [{"categoryId": 1, "name": "road"}, {"categoryId": 2, "name": "sky"}]}}
    stats = plan_stats(None, Dataset("city", "tensorbay", "normal", catalog=catalog))
    plan = Plan(datasets=(DatasetPlan("city", "r", "tensorbay", "normal", "c", "d", changes=(change,), stats=stats),), root=str(tmp_path))
    page = tmp_path / "plan.html"
    doc = render_html(plan)
    page.write_text(doc, encoding="utf-8")
    legend = dict((name, colour) for colour, name in re.findall(r'<i style="background:(#[0-9a-f]{6})"></i>([^<]+)</span>', doc))
    assert list(legend) == ["sky"], legend
    shot = tmp_path / "shot.png"
    screenshot(browser, page, shot, tmp_path / "profile")

    img = image_mod.open(shot).convert("RGB")
    panels = grey_panels(img)
    assert len(panels) == 2, panels
    x0, y0, x1, y1 = panels[1]  # the after panel holds the mask
    sx, sy = (x1 - x0 + 1) / WIDTH, (y1 - y0 + 1) / HEIGHT
    sky = tuple(int(legend["sky"][i : i + 2], 16) for i in (1, 3, 5))
    alpha = 150 / 255  # the overlay's opacity (report_images.load_mask)
    blended = tuple(round(c * alpha + g * (1 - alpha)) for c, g in zip(sky, GREY, strict=True))
    px = img.load()
    for x, y in ((90, 40), (100, 50), (110, 60)):
        at = (round(x0 + x * sx), round(y0 + y * sy))
        assert near(px, *at, blended, tol=24), (at, px[at], blended)
    assert near(px, round(x0 + 40 * sx), round(y0 + 50 * sy), GREY, tol=12)  # value 0: the picture shows through
