"""plan.render_html: one self-contained report with labels drawn as SVG over embedded images."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from labelsync.plan.model import Action, Change, DatasetPlan, FileChange, Kind, LabelState, MaskUpload, Plan
from labelsync.plan.render_html import render_html, report_colours
from labelsync.state import Blob

Image = pytest.importorskip("PIL.Image", reason="the html extra (Pillow) is not installed: pip install 'labelsync[html]'")


def box(cat: str, x0: int, y0: int, x1: int, y1: int) -> dict:
    return {"category": cat, "box2d": {"xmin": x0, "ymin": y0, "xmax": x1, "ymax": y1}}


def label_change(path: str, before: dict, after: dict, source: str | None = None) -> Change:
    return Change(
        Action.UPDATE,
        Kind.LABEL,
        f"dataset.city/segment.day/label.{path}",
        segment="day",
        before=LabelState(before),
        after=FileChange(path, Blob("0" * 40, 1), label=after, source=source or f"img/{path}"),
    )


def write_image(root: Path, rel: str, size: tuple[int, int], colour: tuple[int, int, int] = (128, 128, 128)) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, colour).save(path)


def plan_of(*changes: Change, root: Path) -> Plan:
    return Plan(datasets=(DatasetPlan("city", "r", "tensorbay", "normal", "c", "d", changes=changes),), root=str(root))


def test_self_contained_boxes_polygons_keypoints_and_legend(tmp_path: Path) -> None:
    write_image(tmp_path, "img/a.png", (200, 100))
    after = {
        "BOX2D": [box("car", 40, 20, 160, 80)],
        "POLYGON": [{"category": "road", "polygon": [{"x": 0, "y": 0}, {"x": 10, "y": 0}, {"x": 5, "y": 9}]}],
        "POLYLINE2D": [{"category": "lane", "polyline2d": [{"x": 1, "y": 1}, {"x": 9, "y": 9}]}],
        "KEYPOINTS2D": [{"category": "person", "keypoints2d": [{"x": 3, "y": 4, "v": 2}]}],
    }
    plan = plan_of(label_change("a.png", {"BOX2D": [box("car", 30, 20, 150, 80)]}, after), root=tmp_path)
    doc = render_html(plan)
    category_colour = report_colours(plan)
    assert doc.startswith("<!DOCTYPE html>")
    # no network: every src/href is a data: URI (the SVG namespace is an identifier, not a fetch)
    refs = re.findall(r'(?:src|href)="([^"]*)"', doc)
    assert refs and all(r.startswith(("data:image/", "#")) for r in refs)
    assert doc.count("data:image/") == 1  # embedded once, used by both panels
    assert "<link" not in doc and "<script" not in doc and "url(" not in doc
    assert '<rect x="30" y="20" width="120" height="60"' in doc  # before
    assert '<rect x="40" y="20" width="120" height="60"' in doc  # after
    assert f'stroke="{category_colour("car")}"' in doc
    assert '<polygon points="0,0 10,0 5,9"' in doc and '<polyline points="1,1 9,9"' in doc and "<circle" in doc
    for cat in ("car", "road", "lane", "person"):
        assert f'<i style="background:{category_colour(cat)}"></i>{cat}</span>' in doc
    assert "~ box2d car [30,20,150,80] -&gt; [40,20,160,80]" in doc
    assert re.search(r"Report size: [0-9.]+ KiB; 1 picture\(s\) embedded", doc)


def test_image_limit_budget_and_non_image_table(tmp_path: Path) -> None:
    changes = []
    for i in range(5):
        write_image(tmp_path, f"img/{i}.jpg", (800, 600), (i * 40, 10, 10))
        changes.append(label_change(f"{i}.jpg", {}, {"BOX2D": [box("car", 1, 1, 5, 5)]}))
    changes.append(label_change("cloud.pcd", {}, {"BOX3D": [{"category": "car", "box3d": {}}]}))
    doc = render_html(plan_of(*changes, root=tmp_path), image_limit=3)
    assert doc.count("<figure") == 3
    assert "... and 2 more changed image(s) not drawn (limit 3)." in doc
    assert "<h3>Other data</h3>" in doc and "cloud.pcd" in doc and "+ box3d car" in doc
    from labelsync.plan.report_images import load_picture

    picture = load_picture(tmp_path / "img/0.jpg")
    assert picture is not None and max(picture.width, picture.height) == 800  # original size kept for coordinates
    small = render_html(plan_of(*changes[:3], root=tmp_path), budget=picture.size * 3 // 2)  # room for one
    assert small.count("data:image/") == 1
    assert "1 picture(s) embedded" in small


def test_a_missing_image_draws_the_labels_on_an_empty_frame(tmp_path: Path) -> None:
    doc = render_html(plan_of(label_change("gone.png", {}, {"BOX2D": [box("car", 10, 10, 100, 50)]}), root=tmp_path))
    assert "data:image" not in doc and '<rect x="10" y="10" width="90" height="40"' in doc


def test_the_mask_of_a_typed_file_change_is_overlaid_on_the_after_panel(tmp_path: Path) -> None:
    """The picture and the mask overlay come from the typed FileChange (source, MaskUpload)."""
    write_image(tmp_path, "img/m.png", (40, 20))
    (tmp_path / "masks").mkdir()
    Image.new("L", (40, 20), 3).save(tmp_path / "masks/m.png")
    mask = {"SEMANTIC_MASK": {"remotePath": "m.png"}}
    change = Change(
        Action.UPDATE,
        Kind.LABEL,
        "dataset.city/segment.day/label.m.png",
        segment="day",
        before=LabelState({}),
        after=FileChange("m.png", Blob("0" * 40, 1), label=mask, source="img/m.png", masks=(MaskUpload("SEMANTIC_MASK", Blob("1" * 40, 2), "masks/m.png"),)),
    )
    doc = render_html(plan_of(change, root=tmp_path))
    assert doc.count("data:image/") == 2  # the picture once, the mask overlay once
    assert re.search(r'<image href="data:image/png;base64,[^"]+" x="0" y="0" width="40" height="20"', doc)


def test_without_pillow_one_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    from labelsync.errors import UsageError
    from labelsync.plan.report_images import require_pillow

    monkeypatch.setitem(sys.modules, "PIL", None)
    with pytest.raises(UsageError) as err:
        require_pillow()
    assert "labelsync[html]" in (err.value.hint or "")
