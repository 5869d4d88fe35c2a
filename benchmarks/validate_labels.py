"""Measure ``labelsync validate`` on a dataset with many label lines (default 10,000).

Generates a normal TensorBay dataset in a temporary directory: N tiny data files, a label
file with one line per file (a CLASSIFICATION and two BOX2D objects with attributes), and a
manifest; then runs validation in-process (the library call the CLI makes) and through the
console script, and prints the figures.

    .venv/bin/python benchmarks/validate_labels.py [--lines 10000]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MANIFEST = """\
apiVersion: labelsync/v1
kind: Dataset
metadata: {name: bench}
spec:
  catalog:
    CLASSIFICATION:
      categories: [{name: day}, {name: night}]
    BOX2D:
      categories: [{name: car}, {name: person}, {name: bike}]
      attributes:
        - {name: occluded, type: boolean}
        - {name: score, type: number, minimum: 0, maximum: 1}
        - {name: color, enum: [red, green, blue], parentCategories: [car]}
  segments:
    - name: all
      data: {path: data, include: ["*.jpg"]}
      labels: {path: labels.jsonl}
"""


def generate(root: Path, lines: int) -> None:
    (root / "labelsync.yaml").write_text("remotes: {}\n")
    (root / "dataset.yaml").write_text(MANIFEST)
    data = root / "data"
    data.mkdir()
    with (root / "labels.jsonl").open("w") as out:
        for i in range(lines):
            name = f"{i:06d}.jpg"
            (data / name).write_bytes(b"\xff\xd8" + i.to_bytes(4, "big"))
            label = {
                "CLASSIFICATION": {"category": "day" if i % 2 else "night"},
                "BOX2D": [
                    {"box2d": {"xmin": 1, "ymin": 2, "xmax": 30.5, "ymax": 40}, "category": "car",
                     "attributes": {"occluded": bool(i % 3), "score": 0.5, "color": "red"}},
                    {"box2d": {"xmin": 5, "ymin": 6, "xmax": 7, "ymax": 8}, "category": "person", "instance": str(i)},
                ],
            }
            out.write(json.dumps({"remotePath": name, "label": label}) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=10_000)
    args = parser.parse_args()
    from labelsync.manifest import validate_paths

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        t0 = time.perf_counter()
        generate(root, args.lines)
        t1 = time.perf_counter()
        diags = validate_paths([root])
        t2 = time.perf_counter()
        assert diags == [], diags[:5]
        proc = subprocess.run(
            [sys.executable, "-m", "labelsync", "validate", str(root)], capture_output=True, text=True, check=False
        )
        t3 = time.perf_counter()
        assert proc.returncode == 0, proc.stderr
        print(f"label lines:                  {args.lines}")
        print(f"generate:                     {t1 - t0:.2f} s")
        print(f"validate (in-process):        {t2 - t1:.2f} s  ({(t2 - t1) / args.lines * 1e6:.0f} us/line)")
        print(f"labelsync validate (process): {t3 - t2:.2f} s  (incl. interpreter start)")


if __name__ == "__main__":
    main()
