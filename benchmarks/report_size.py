"""Size of the HTML plan report, and the markdown plan of a very large label change.

Usage::

    .venv/bin/python benchmarks/report_size.py [--images 200] [--side 1000] [--labels 100000]

1. Writes ``--images`` photo-like 1-megapixel PNGs (``--side`` x ``--side``: gradients and
   noise, so they compress like photographs, not like flat colour) to a temp dir, builds a
   plan with one label change per image (a box moved, a polygon added) and renders
   ``labelsync plan --format html`` from it (:func:`labelsync.plan.render_html.render_html`,
   default budget), with the default limit of 50 drawn items and with every image drawn.
   Prints the report's size, the embedded pictures, the time.
2. Builds a plan of ``--labels`` changed labels (label updates, 10 per image over
   ``--labels // 10`` items, statistics included) and prints the length of its markdown plan
   against GitHub's 65,536-character limit, and whether the statistics table survived.

Needs the ``html`` extra (Pillow). Nothing is sent anywhere; the temp dir is removed.
"""

from __future__ import annotations

import argparse
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from labelsync.plan.model import Action, Change, DatasetPlan, Kind, Plan, format_bytes  # noqa: E402
from labelsync.plan.render_html import render_html  # noqa: E402
from labelsync.plan.render_markdown import GITHUB_COMMENT_LIMIT, render_markdown  # noqa: E402


def photo(path: Path, side: int, seed: int) -> None:
    from PIL import Image, ImageFilter

    rnd = random.Random(seed)
    noise = Image.effect_noise((side, side), 40 + seed % 20)
    grad = Image.linear_gradient("L").resize((side, side)).rotate(rnd.randrange(360))
    rgb = Image.merge("RGB", (noise, grad, Image.blend(noise, grad, 0.5))).filter(ImageFilter.GaussianBlur(1))
    rgb.save(path, "PNG")


def box(cat: str, x: int, y: int, w: int = 100, h: int = 80) -> dict:
    return {"category": cat, "box2d": {"xmin": x, "ymin": y, "xmax": x + w, "ymax": y + h}}


def html_plan(root: Path, images: int, side: int) -> Plan:
    changes = []
    for i in range(images):
        name = f"{i:04d}.png"
        photo(root / name, side, i)
        before = {"BOX2D": [box("car", 100, 100), box("pedestrian", 400, 300, 40, 120)]}
        after = {
            "BOX2D": [box("car", 112, 100), box("pedestrian", 400, 300, 40, 120)],
            "POLYGON": [{"category": "road", "polygon": [{"x": 10 * k, "y": side - 50 - (k % 3) * 20} for k in range(14)]}],
        }
        changes.append(
            Change(Action.UPDATE, Kind.LABEL, f"dataset.photos/segment.train/label.{name}", segment="train",
                   before={"label": before}, after={"label": after, "source": name})  # fmt: skip
        )
    return Plan(datasets=(DatasetPlan("photos", "default", "tensorbay", "normal", "c", "d", changes=tuple(changes)),), root=str(root))


def markdown_plan(labels: int) -> Plan:
    """``labels`` changed labels: ``labels // 10`` items of 10 boxes, each box moved."""
    items = labels // 10
    changes = []
    for i in range(items):
        before = {"BOX2D": [box("car" if k % 2 else "bus", 10 * k, 10) for k in range(10)]}
        after = {"BOX2D": [box("car" if k % 2 else "bus", 10 * k + 1, 10) for k in range(10)]}
        changes.append(
            Change(Action.UPDATE, Kind.LABEL, f"dataset.big/segment.train/label.{i:06d}.jpg", segment="train",
                   before={"label": before}, after={"label": after, "source": f"{i:06d}.jpg"})  # fmt: skip
        )

    def side(car: int, bus: int) -> dict:
        return {"segments": {"train": {"items": items, "unlabelled": 0, "types": {"BOX2D": {
            "labels": car + bus, "categories": {"car": car, "bus": bus}, "attributes": {}}}}}}  # fmt: skip

    stats = {"before": side(labels // 2, labels // 2), "after": side(labels // 2 + 47, labels // 2 - 47)}
    return Plan(datasets=(DatasetPlan("big", "default", "tensorbay", "normal", "c", "d", changes=tuple(changes), stats=stats),))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--images", type=int, default=200)
    parser.add_argument("--side", type=int, default=1000)
    parser.add_argument("--labels", type=int, default=100_000)
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="ls-bench-report-"))
    try:
        plan = html_plan(tmp, args.images, args.side)
        for limit in (50, args.images):  # the default limit, and every image drawn
            start = time.perf_counter()
            doc = render_html(plan, image_limit=limit)
            took = time.perf_counter() - start
            size = len(doc.encode("utf-8"))
            print(f"HTML report, {args.images} changed {args.side}x{args.side} images, limit {limit}: {format_bytes(size)} "
                  f"({doc.count('data:image/'):,} pictures embedded, {took:.1f} s)")  # fmt: skip
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    start = time.perf_counter()
    md = render_markdown(markdown_plan(args.labels), marker="<!-- labelsync-plan -->")
    took = time.perf_counter() - start
    table = "| `big` | `train` | `BOX2D car` |" in md
    print(f"markdown plan of {args.labels:,} changed labels: {len(md):,} characters (limit {GITHUB_COMMENT_LIMIT:,}), "
          f"statistics table {'shown' if table else 'MISSING'}, {took:.1f} s")  # fmt: skip


if __name__ == "__main__":
    main()
