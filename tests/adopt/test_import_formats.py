"""``labelsync import --format F`` for every foreign format (real processes, embedded default
remote over loopback): a dataset F can hold imports and then plans "No changes"; one it
cannot hold is refused with one line naming what, before anything is written."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.formats.repos import FORMATS, format_repo
from tests.support.repo import run_cli

REFUSED = {
    # dataset applied from format -> (format it cannot be imported as, the one line)
    "coco": ("voc", "Error: 1 KEYPOINTS2D label, 1 MULTI_POLYGON label, 1 POLYGON label and 2 RLE labels: "
                    "--format voc cannot hold them (e.g. train/000000000139.jpg)"),
    "voc": ("coco", "Error: 2 BOX2D labels: --format coco cannot hold them exactly (e.g. train/000005.jpg: attributes not kept)"),
    "yolo": ("voc", "Error: 1 POLYGON label: --format voc cannot hold them (e.g. train/0002.png)"),
    "labelme": ("coco", "Error: 1 CLASSIFICATION label and 1 POLYLINE2D label: --format coco cannot hold them"),
    "kitti": ("yolo", "Error: 2 BOX3D labels: --format yolo cannot hold them (e.g. train/velodyne/000000.bin)"),
}


def _repo(tmp_path: Path, fmt: str) -> Path:
    root = format_repo(tmp_path / fmt, fmt)
    (root / ".git").mkdir()  # the repository root: the embedded remote's state is kept under it
    assert run_cli(["apply", ".", "--auto-approve"], root, "", timeout=300).code == 0
    return root


def _files(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if ".labelsync" not in p.parts[:1])


@pytest.mark.parametrize("fmt", FORMATS)
def test_import_in_the_datasets_format_then_plan_shows_no_changes_and_another_format_is_refused(tmp_path: Path, fmt: str) -> None:
    root = _repo(tmp_path, fmt)
    calib = ["--calib", "training/calib"] if fmt == "kitti" else []
    imported = run_cli(["import", "default", f"{fmt}-ds", "--with-data", "--format", fmt, "--dir", "out", *calib], root, "")
    assert imported.code == 0, imported.text
    assert "warning" not in imported.text
    plan = run_cli(["plan", "out", "--detailed-exitcode"], root, "")
    assert plan.code == 0 and "No changes" in plan.out, plan.text

    before = _files(root)
    other, line = REFUSED[fmt]
    extra = ["--calib", "training/calib"] if other == "kitti" else []
    refused = run_cli(["import", "default", f"{fmt}-ds", "--with-data", "--format", other, "--dir", "o2", *extra], root, "")
    assert refused.code == 1, refused.text
    assert refused.err.startswith(line), refused.err
    assert "Hint: use --format tensorbay (the default), which holds every label; nothing was written" in refused.err
    assert "Traceback" not in refused.err and refused.out == ""
    assert _files(root) == before  # no o2/, no staging directory left


def test_kitti_import_needs_the_calibration_and_says_so(tmp_path: Path) -> None:
    root = _repo(tmp_path, "kitti")
    before = _files(root)
    missing = run_cli(["import", "default", "kitti-ds", "--with-data", "--format", "kitti", "--dir", "out"], root, "")
    assert missing.code == 1
    assert missing.err.startswith("Error: --format kitti needs the frames' calibration files, which a remote dataset does not hold")
    (root / "partial").mkdir()
    (root / "partial" / "000000.txt").write_bytes((root / "training" / "calib" / "000000.txt").read_bytes())
    before = _files(root)
    short = run_cli(["import", "default", "kitti-ds", "--with-data", "--format", "kitti", "--dir", "out", "--calib", "partial"], root, "")
    assert short.code == 1, short.text
    assert "partial/000001.txt does not exist: frame '000001' needs its calibration file" in short.err
    assert _files(root) == before
