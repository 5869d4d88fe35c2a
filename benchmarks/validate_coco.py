"""Time validating a 10,000-image COCO file as a process (the target is under 2 s).

Generates, in a temporary directory, a COCO file of N images (default 10,000) with 5
annotations each (four boxes with polygons, one person with a polygon and 17 keypoints),
plus a crowd RLE (uncompressed counts) on every 20th image and a compressed RLE on every
5th. Then runs a fresh Python
process that reads it as ``labelsync validate`` does (``labelsync.local.labelsets``, through
``labelsync.formats.coco``, which checks ids, categories, boxes, polygons, RLE and
keypoints), checks the labels in memory against the catalog taken from the file
(``catalog: {from: labels}``), and prints the wall time of that process.

    .venv/bin/python benchmarks/validate_coco.py [--images 10000]
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from labelsync.formats import rle

CHILD = """
import sys, time
from pathlib import Path
t0 = time.perf_counter()
from labelsync.local.labelsets import read_label_set
path = Path(sys.argv[1])
labels = read_label_set("coco", path, display=path.name)
catalog = labels.own_catalog()
t1 = time.perf_counter()
from labelsync.local.labelcheck import check_label_set
problems = check_label_set(labels, catalog)
t2 = time.perf_counter()
n = sum(len(v) for r in labels.records.values() for v in r.label.values())
print(f"{len(labels.records)} images, {n} label objects, {len(labels.diagnostics)} format problems, "
      f"{len(problems) - len(labels.diagnostics)} catalog problems; read+format checks {t1 - t0:.2f} s, "
      f"catalog check in memory {t2 - t1:.2f} s")
"""

KEYPOINTS = ["nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder", "right_shoulder",
             "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_hip", "right_hip", "left_knee",
             "right_knee", "left_ankle", "right_ankle"]


def generate(path: Path, images: int) -> None:
    gen = random.Random(1)
    W, H = 640, 480
    crowd = rle.from_pixels([1 if 100 <= (i % H) < 140 and i // H < 200 else 0 for i in range(W * H)])
    blob = rle.encode_counts(rle.from_pixels([1 if (i % H) < 20 and 600 <= i // H else 0 for i in range(W * H)]))
    out_images, anns = [], []
    aid = 0
    for i in range(1, images + 1):
        out_images.append({"id": i, "file_name": f"{i:012d}.jpg", "width": W, "height": H, "license": 1})
        for _ in range(4):
            aid += 1
            x, y = round(gen.uniform(0, 500), 2), round(gen.uniform(0, 350), 2)
            w, h = round(gen.uniform(5, 130), 2), round(gen.uniform(5, 120), 2)
            poly = [x, y, x + w, y, x + w, y + h, x, y + h]
            anns.append({"id": aid, "image_id": i, "category_id": gen.choice([2, 3, 4]), "bbox": [x, y, w, h],
                         "area": w * h, "segmentation": [[round(v, 2) for v in poly]], "iscrowd": 0})
        if i % 20 == 0:
            aid += 1
            anns.append({"id": aid, "image_id": i, "category_id": 1, "bbox": [0, 100, 200, 40],
                         "area": rle.area(crowd), "segmentation": {"size": [H, W], "counts": crowd}, "iscrowd": 1})
        if i % 5 == 0:
            aid += 1
            anns.append({"id": aid, "image_id": i, "category_id": 3, "bbox": [600, 0, 40, 20], "area": 800,
                         "segmentation": {"size": [H, W], "counts": blob}, "iscrowd": 0})
        aid += 1
        kps = [v for _ in KEYPOINTS for v in (round(gen.uniform(200, 300), 2), round(gen.uniform(100, 400), 2), 2)]
        anns.append({"id": aid, "image_id": i, "category_id": 1, "bbox": [200, 100, 100, 300], "area": 30000,
                     "segmentation": [[200, 100, 300, 100, 300, 400, 200, 400]], "iscrowd": 0,
                     "keypoints": kps, "num_keypoints": 17})
    categories = [{"id": 1, "name": "person", "supercategory": "person", "keypoints": KEYPOINTS,
                   "skeleton": [[16, 14], [14, 12], [17, 15], [15, 13], [12, 13]]},
                  {"id": 2, "name": "bicycle", "supercategory": "vehicle"},
                  {"id": 3, "name": "car", "supercategory": "vehicle"},
                  {"id": 4, "name": "dog", "supercategory": "animal"}]
    path.write_text(json.dumps({"info": {}, "licenses": [], "images": out_images, "annotations": anns,
                                "categories": categories}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=10_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "instances.json"
        generate(path, args.images)
        size = path.stat().st_size / 1e6
        start = time.perf_counter()
        proc = subprocess.run([sys.executable, "-c", CHILD, str(path)], capture_output=True, text=True, check=False)
        wall = time.perf_counter() - start
        if proc.returncode != 0:
            sys.exit(proc.stderr)
        print(f"COCO file: {size:.1f} MB; {proc.stdout.strip()}")
        print(f"validate as a process: {wall:.2f} s wall (target < 2 s)")


if __name__ == "__main__":
    main()
