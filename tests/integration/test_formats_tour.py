"""``examples/formats-tour.sh`` runs to its end (real processes: bash, the CLI, served
emulators, the tensorbay SDK), so the tour a user runs from a fresh clone cannot rot."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.support.repo import cli_env

TOUR = Path(__file__).resolve().parents[2] / "examples" / "formats-tour.sh"


def test_formats_tour_runs_to_the_end(tmp_path: Path) -> None:
    env = cli_env("")
    env.update({"PYTHON": sys.executable, "TOUR_DIR": str(tmp_path / "tour")})
    proc = subprocess.run(["bash", str(TOUR)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-4000:]
    for fmt in ("coco", "voc", "yolo", "labelme", "kitti", "tensorbay"):
        assert f"== {fmt}: validate -> plan -> apply -> plan (no changes) -> pull (no byte changed)" in out
    # 6 re-plans after apply, the two SDK imports (normal, fusion) and the Deepen import
    assert out.count("No changes. The remote matches the manifests.") == 9, out[-4000:]
    assert out.count("0 label files updated") == 6
    assert "--format coco cannot hold them" in out
    assert "imported TensorBay dataset 'city'" in out and "imported TensorBay dataset 'drive'" in out and "imported Deepen dataset 'street-signs'" in out
    assert "Traceback" not in out
    assert proc.stdout.rstrip().endswith("imports plan no changes")
