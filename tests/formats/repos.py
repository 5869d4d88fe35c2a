"""One small labelsync repository per label format, built from the fixtures in a temp dir.

:func:`format_repo` copies the format's fixture files into ``root``, adds the data files they
label (tiny PNGs, dummy lidar files) and writes ``dataset.yaml`` with ``catalog: {from:
labels}`` and one segment whose ``labels`` names the format.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from tests.formats.images import png

FIXTURES = Path(__file__).parent / "fixtures"
FORMATS = ("coco", "voc", "yolo", "labelme", "kitti")


def _manifest(root: Path, data: dict[str, Any], labels: dict[str, Any], catalog: dict[str, Any] | None) -> None:
    manifest = {
        "apiVersion": "labelsync/v1",
        "kind": "Dataset",
        "metadata": {"name": f"{labels.get('format', 'tensorbay')}-ds"},
        "spec": {
            "remote": "default",
            "tensorbay": {"type": "normal"},
            "catalog": catalog if catalog is not None else {"from": "labels"},
            "segments": [{"name": "train", "data": data, "labels": labels}],
        },
    }
    (root / "dataset.yaml").write_text(json.dumps(manifest, indent=1) + "\n")


def format_repo(root: Path, fmt: str, *, catalog: dict[str, Any] | None = None) -> Path:
    """The repository of ``fmt`` (see the module docstring); returns ``root``."""
    root.mkdir(parents=True, exist_ok=True)
    if fmt == "coco":
        (root / "annotations").mkdir()
        shutil.copy(FIXTURES / "coco" / "instances.json", root / "annotations" / "instances.json")
        for name, (w, h) in {"000000000139.jpg": (64, 48), "000000000285.jpg": (64, 48), "sub/000000000632.jpg": (32, 24)}.items():
            (root / "images" / name).parent.mkdir(parents=True, exist_ok=True)
            (root / "images" / name).write_bytes(png(w, h))
        _manifest(root, {"path": "images"}, {"format": "coco", "path": "annotations/instances.json"}, catalog)
    elif fmt == "voc":
        shutil.copytree(FIXTURES / "voc" / "Annotations", root / "Annotations")
        (root / "JPEGImages").mkdir()
        for name, (w, h) in {"000005.jpg": (500, 375), "2008_000008.jpg": (500, 442)}.items():
            (root / "JPEGImages" / name).write_bytes(png(w, h))
        _manifest(root, {"path": "JPEGImages"}, {"format": "voc", "path": "Annotations"}, catalog)
    elif fmt == "yolo":
        shutil.copytree(FIXTURES / "yolo", root / "yolo")
        _manifest(root, {"path": "yolo/images/train"},
                  {"format": "yolo", "path": "yolo/labels/train", "classes": "yolo/data.yaml"}, catalog)
    elif fmt == "labelme":
        shutil.copytree(FIXTURES / "labelme", root / "labelme")
        _manifest(root, {"path": "labelme", "include": ["*.png"]}, {"format": "labelme", "path": "labelme"}, catalog)
    elif fmt == "kitti":
        shutil.copytree(FIXTURES / "kitti" / "training", root / "training")
        for frame in ("000000", "000001"):
            (root / "training" / "image_2").mkdir(exist_ok=True)
            (root / "training" / "velodyne").mkdir(exist_ok=True)
            (root / "training" / "image_2" / f"{frame}.png").write_bytes(png(40, 30))
            (root / "training" / "velodyne" / f"{frame}.bin").write_bytes(bytes(16))
        _manifest(root, {"path": "training", "include": ["image_2/*.png", "velodyne/*.bin"]},
                  {"format": "kitti", "path": "training/label_2", "calib": "training/calib"}, catalog)
    else:
        raise ValueError(fmt)
    return root
