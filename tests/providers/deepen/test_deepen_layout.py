"""The Deepen data layout is checked locally: `validate` reports what processing would
reject (with the file and the fix), and apply never creates a dataset processing rejects."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from labelsync.errors import LocalDataError
from labelsync.manifest import validate_paths
from tests.providers.deepen.conftest import PNG, TOKEN, Emulator, frame, write_repo
from tests.providers.deepen.test_deepen_provider import apply

CATALOG_3D = {"BOX3D": {"categories": [{"name": "car"}]}}
PCD = b"# .PCD v0.7\nFIELDS x y z\nPOINTS 0\nDATA ascii\n"
CONFIG = {"primary_sensor_id": "lidar", "sensors": {"lidar": {"content": "lidar", "sensor_type": "lidar"}}}


def _problems(root: Path) -> list[str]:
    return [str(d) for d in validate_paths([root / "dataset.yaml"])]


def _names(emulator: Emulator) -> list[str]:
    body = emulator.admin.get("/api/v2/clients/client-7/datasets_ids", headers={"Authorization": f"Bearer {TOKEN}"}).json()
    return [d["dataset_name"] for d in body["datasets"]]


def test_3d_default_without_config_json_is_a_validation_error(tmp_path: Path) -> None:
    spec = {"deepen": {"datasetType": "3d"}, "catalog": CATALOG_3D}
    root = write_repo(tmp_path / "repo", "http://127.0.0.1:9/api/v2", {"lidar/0001.pcd": PCD}, spec=spec)
    [problem] = _problems(root)
    assert "dataset.yaml:" in problem and "needs a config.json at the top of the data directory" in problem
    assert "datasetFormat: json" in problem and "docs/deepen.md" in problem  # the fix


def test_3d_default_config_naming_an_empty_folder_points_at_config_json(tmp_path: Path) -> None:
    spec = {"deepen": {"datasetType": "3d"}, "catalog": CATALOG_3D}
    files = {"config.json": json.dumps(CONFIG).encode(), "camera/0001.pcd": PCD}
    root = write_repo(tmp_path / "repo", "http://127.0.0.1:9/api/v2", files, spec=spec)
    [problem] = _problems(root)
    assert problem.startswith(str(Path("data/config.json"))) or "config.json:1:1" in problem
    assert "the folder lidar/ that config.json names for the primary sensor 'lidar' holds no .pcd files" in problem


def test_3d_default_good_layout_is_valid(tmp_path: Path) -> None:
    spec = {"deepen": {"datasetType": "3d"}, "catalog": CATALOG_3D}
    files = {"config.json": json.dumps(CONFIG).encode(), "lidar/0001.pcd": PCD}
    root = write_repo(tmp_path / "repo", "http://127.0.0.1:9/api/v2", files, spec=spec)
    assert _problems(root) == []


def test_3d_json_frames_below_the_top_are_a_validation_error(tmp_path: Path) -> None:
    spec = {"deepen": {"datasetType": "3d", "datasetFormat": "json"}, "catalog": CATALOG_3D}
    root = write_repo(tmp_path / "repo", "http://127.0.0.1:9/api/v2", {"frames/0001.json": frame(3)}, spec=spec)
    [problem] = _problems(root)
    assert "needs one frame .json file per frame at the top of the data directory" in problem


def test_images_dataset_without_images_is_a_validation_error(tmp_path: Path) -> None:
    root = write_repo(tmp_path / "repo", "http://127.0.0.1:9/api/v2", {"notes.txt": b"x"})
    [problem] = _problems(root)
    assert "needs image files" in problem


def test_apply_refuses_a_bad_frame_before_creating_the_dataset(emulator: Emulator, token_env: str, tmp_path: Path) -> None:
    files = {"0001.json": frame(2), "0002.json": b'{"images": [], "timestamp": 1.0}'}
    spec = {"deepen": {"datasetType": "3d", "datasetFormat": "json"}, "catalog": CATALOG_3D}
    root = write_repo(tmp_path / "repo", emulator.api, files, name="broken", spec=spec)
    with pytest.raises(LocalDataError) as err:
        apply(root)
    assert "0002.json: missing frame field(s): points, device_position, device_heading" in err.value.message
    assert "no dataset was created" in err.value.message
    assert "broken" not in _names(emulator)


def test_apply_refuses_an_image_that_is_not_one(emulator: Emulator, token_env: str, tmp_path: Path) -> None:
    root = write_repo(tmp_path / "repo", emulator.api, {"a.png": PNG, "b.png": b"not a png"})
    with pytest.raises(LocalDataError, match="not a valid png image"):
        apply(root)
    assert "signs" not in _names(emulator)
