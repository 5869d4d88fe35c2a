"""KITTI reader against an independent numpy transform of the box corners; round trips."""

from __future__ import annotations

import copy
import math
import shutil
from pathlib import Path

import pytest

from labelsync.formats import kitti

ROOT = Path(__file__).parent / "fixtures" / "kitti" / "training"
LABELS = ROOT / "label_2"
np = pytest.importorskip("numpy")


def _matrices(path: Path) -> dict[str, np.ndarray]:
    out = {}
    for line in path.read_text().splitlines():
        if ":" in line:
            key, values = line.split(":", 1)
            out[key] = np.array([float(v) for v in values.split()])
    return out


def _camera_corners(h: float, w: float, length: float, x: float, y: float, z: float, ry: float) -> np.ndarray:
    """The KITTI devkit's corners: box frame x along the length, y down from the bottom face."""
    xs = np.array([1, 1, -1, -1, 1, 1, -1, -1]) * length / 2
    ys = np.array([0, 0, 0, 0, -1, -1, -1, -1]) * h
    zs = np.array([1, -1, -1, 1, 1, -1, -1, 1]) * w / 2
    rot = np.array([[math.cos(ry), 0, math.sin(ry)], [0, 1, 0], [-math.sin(ry), 0, math.cos(ry)]])
    return rot @ np.vstack([xs, ys, zs]) + np.array([[x], [y], [z]])


def _our_corners(box3d: dict) -> np.ndarray:
    t, s = box3d["translation"], box3d["size"]
    rot = np.array(kitti.rotation(box3d["rotation"]))
    local = np.array([[sx * s["x"] / 2, sy * s["y"] / 2, sz * s["z"] / 2]
                      for sx in (1, -1) for sy in (1, -1) for sz in (1, -1)]).T
    return rot @ local + np.array([[t["x"]], [t["y"]], [t["z"]]])


def test_3d_boxes_match_an_independent_transform_of_the_corners() -> None:
    parsed = kitti.read(LABELS)
    assert parsed.diagnostics == []
    checked = 0
    for path in sorted(LABELS.glob("*.txt")):
        m = _matrices(ROOT / "calib" / path.name)
        r0 = np.eye(4)
        r0[:3, :3] = m["R0_rect"].reshape(3, 3)
        tr = np.eye(4)
        tr[:3, :] = m["Tr_velo_to_cam"].reshape(3, 4)
        cam_to_velo = np.linalg.inv(r0 @ tr)
        boxes = parsed.labels[f"velodyne/{path.stem}.bin"].get("BOX3D", [])
        rows = [r.split() for r in path.read_text().splitlines() if not r.startswith("DontCare")]
        assert len(boxes) == len(rows)
        for row, box in zip(rows, boxes, strict=True):
            h, w, length, x, y, z, ry = (float(v) for v in row[8:15])
            cam = _camera_corners(h, w, length, x, y, z, ry)
            theirs = (cam_to_velo @ np.vstack([cam, np.ones(8)]))[:3]
            ours = _our_corners(box["box3d"])
            # same set of corners (order differs); calibration is orthonormal to ~1e-5
            dist = np.linalg.norm(theirs[:, :, None] - ours[:, None, :], axis=0)
            assert dist.min(axis=1).max() < 2e-3, dist.min(axis=1)
            assert box["category"] == row[0]
            yaw = 2 * math.atan2(box["box3d"]["rotation"]["z"], box["box3d"]["rotation"]["w"])
            assert math.remainder(yaw - (-ry - math.pi / 2), 2 * math.pi) == pytest.approx(0, abs=0.02)
            checked += 1
    assert checked == 4


def test_2d_boxes_and_attributes() -> None:
    labels = kitti.read(LABELS).labels
    cyclist = labels["image_2/000001.png"]["BOX2D"][2]
    assert cyclist["box2d"] == {"xmin": 676.60, "ymin": 163.95, "xmax": 688.98, "ymax": 193.93}
    assert cyclist["attributes"] == {"truncated": 0.0, "occluded": 3, "alpha": -1.65}
    dontcare = labels["image_2/000001.png"]["BOX2D"][3]
    assert dontcare["category"] == "DontCare" and len(labels["velodyne/000001.bin"]["BOX3D"]) == 3
    names = [c["name"] for c in kitti.catalog_from(LABELS)["BOX2D"]["categories"]]
    assert names == ["Car", "Cyclist", "DontCare", "Pedestrian", "Truck"]


def test_calibration_intrinsics_from_p2() -> None:
    calib, parsed = kitti.parse_calib((ROOT / "calib" / "000000.txt").read_text())
    assert calib is not None and parsed.ok
    assert calib.intrinsics == {"fx": 707.0493, "fy": 707.0493, "cx": 604.0814, "cy": 180.5066}


def _copy(tmp_path: Path) -> Path:
    shutil.copytree(ROOT, tmp_path / "training")
    return tmp_path / "training" / "label_2"


def test_unchanged_rewrite_changes_no_byte(tmp_path: Path) -> None:
    label_dir = _copy(tmp_path)
    assert kitti.write(label_dir, kitti.read(label_dir).labels) == []
    for path in LABELS.glob("*.txt"):
        assert (label_dir / path.name).read_bytes() == path.read_bytes()


def test_changed_3d_box_is_written_back_in_camera_coordinates(tmp_path: Path) -> None:
    label_dir = _copy(tmp_path)
    labels = copy.deepcopy(kitti.read(label_dir).labels)
    labels["velodyne/000001.bin"]["BOX3D"][1]["box3d"]["size"]["x"] = 4.0
    assert [p.name for p in kitti.write(label_dir, labels)] == ["000001.txt"]
    lines = (label_dir / "000001.txt").read_text().splitlines()
    original = (LABELS / "000001.txt").read_text().splitlines()
    assert lines[0] == original[0] and lines[2:] == original[2:]
    assert lines[1] == "Car 0.00 0 1.85 387.63 181.54 423.81 203.12 1.67 1.87 4.00 -16.53 2.39 58.49 1.57"
    assert kitti.read(label_dir).labels == labels


def test_3d_box_without_2d_box_is_projected_with_p2(tmp_path: Path) -> None:
    label_dir = _copy(tmp_path)
    labels = kitti.read(label_dir).labels
    box3d = labels["velodyne/000000.bin"]["BOX3D"][0]
    labels["image_2/000000.png"] = {}
    kitti.write(label_dir, labels)
    (line,) = (label_dir / "000000.txt").read_text().splitlines()
    left, top, right, bottom = (float(v) for v in line.split()[4:8])
    assert 690 < left < 730 and 120 < top < 160 and 790 < right < 840 and 290 < bottom < 330
    assert kitti.read(label_dir).labels["velodyne/000000.bin"]["BOX3D"] == [box3d]
