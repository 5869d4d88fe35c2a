"""``labelsync import`` of fusion datasets made with the official TensorBay SDK (frames with
the SDK's random ULIDs), over loopback to the emulator: the frame IDs go into ``frames.ids``
and ``plan`` shows no changes; a layout labelsync cannot declare is refused, nothing written."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from labelsync.emulator.runtime import EmbeddedServer
from labelsync.emulator.tensorbay import create_app
from tests.support.repo import run_cli

tensorbay = pytest.importorskip("tensorbay")

from tensorbay import GAS  # noqa: E402
from tensorbay.dataset import Data, Frame, FusionDataset  # noqa: E402
from tensorbay.label import Catalog, LabeledBox3D  # noqa: E402
from tensorbay.sensor import Camera, Lidar  # noqa: E402

from tests.adopt.test_import_tensorbay_sdk import TOKEN, repo  # noqa: E402

pytestmark = pytest.mark.sdk


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    with EmbeddedServer(create_app(tmp_path / "tb", tokens=[TOKEN])) as running:
        yield running.url


def sdk_fusion(url: str, work: Path, *, sensor_dirs: bool) -> list[str]:
    """Create and commit fusion dataset ``drive`` with the SDK (3 frames of lidar + camera,
    a 3D box per lidar file, timestamps); ``sensor_dirs``: remote paths ``<sensor>/<frame>.<ext>``
    (else the SDK's default, the local file name). Returns the frame IDs, in order."""
    work.mkdir()
    gas = GAS(TOKEN, url="https://placeholder.invalid/")
    gas._client.gateway_url = f"{url}/gatewayv2/"
    gas._client._open_api = f"{url}/gatewayv2/tensorbay-open-api/v1/"
    gas.create_dataset("drive", is_fusion=True)
    dataset = FusionDataset("drive")
    dataset.catalog.box3d = Catalog.loads({"BOX3D": {"categories": [{"name": "car"}]}}).box3d
    segment = dataset.create_segment("day")
    lidar = Lidar("lidar")
    lidar.set_extrinsics(translation=[0, 0, 1.9])
    camera = Camera("cam")
    camera.set_extrinsics(translation=[1.5, 0, 1.6])
    camera.set_camera_matrix(fx=40, fy=40, cx=24, cy=16)
    segment.sensors.add(lidar)
    segment.sensors.add(camera)
    for i in range(3):
        frame = Frame()
        for sensor, ext in (("lidar", "bin"), ("cam", "png")):
            local = work / f"{sensor}{i}.{ext}"
            local.write_bytes(f"{sensor}-{i}".encode())
            target = f"{sensor}/{i:04d}.{ext}" if sensor_dirs else local.name
            data = Data(str(local), target_remote_path=target, timestamp=100.0 + i)
            if sensor == "lidar":
                data.label.box3d = [LabeledBox3D(size=[4, 2, 1.5], translation=[i, 0, 0], category="car")]
            frame[sensor] = data
        segment.append(frame)
    client = gas.upload_dataset(dataset, jobs=1)
    client.commit("made with the SDK")
    return [str(f.frame_id) for f in client.get_segment("day").list_frames()]


def test_sdk_fusion_dataset_imports_its_frame_ids_and_plans_no_changes(server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    ids = sdk_fusion(server, tmp_path / "sdk", sensor_dirs=True)
    root = repo(tmp_path / "repo", server)
    result = run_cli(["import", "tb", "drive", "--with-data"], root, TOKEN)
    assert result.code == 0, result.text
    assert "6 items, 3 labelled" in result.out and "warning" not in result.out
    written = json.loads((root / "drive" / "day" / "frame-ids.json").read_text())
    assert written == dict(zip(["0000", "0001", "0002"], ids, strict=True))
    assert "ids: day/frame-ids.json" in (root / "drive" / "dataset.yaml").read_text()
    assert (root / "drive" / "day" / "data" / "lidar" / "0001.bin").read_bytes() == b"lidar-1"
    validate = run_cli(["validate", "drive"], root, TOKEN)
    assert validate.code == 0, validate.text
    plan = run_cli(["plan", "drive", "--detailed-exitcode"], root, TOKEN)
    assert plan.code == 0 and "No changes" in plan.out, plan.text
    # the IDs are what makes it a no-op: without them every item moves to a derived frame
    (root / "drive" / "day" / "frame-ids.json").write_text("{}")
    drift = run_cli(["plan", "drive", "--detailed-exitcode"], root, TOKEN)
    assert drift.code == 2 and "6 to update" in drift.out, drift.text


def test_sdk_fusion_dataset_with_the_sdks_file_names_is_refused_with_nothing_written(
    server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    sdk_fusion(server, tmp_path / "sdk", sensor_dirs=False)
    root = repo(tmp_path / "repo", server)
    result = run_cli(["import", "tb", "drive", "--with-data"], root, TOKEN)
    assert result.code == 1, result.text
    assert result.err.splitlines()[0] == ("Error: segment 'day': item 'cam0.png' of sensor 'cam' is not at "
                                          "'<sensor>/<file>', the only fusion layout labelsync declares")
    assert "Hint: nothing was written; rename it on the remote to 'cam/cam0.png'" in result.err
    assert "Traceback" not in result.err
    assert sorted(p.name for p in root.iterdir()) == ["labelsync.yaml"]


def test_a_frame_id_file_with_a_bad_id_is_one_validation_line(server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    sdk_fusion(server, tmp_path / "sdk", sensor_dirs=True)
    root = repo(tmp_path / "repo", server)
    assert run_cli(["import", "tb", "drive", "--with-data"], root, TOKEN).code == 0
    ids = root / "drive" / "day" / "frame-ids.json"
    ids.write_text(json.dumps({"0000": "not-a-ulid"}))
    bad = run_cli(["validate", "drive"], root, TOKEN)
    assert bad.code == 1
    assert "frame '0000' has ID 'not-a-ulid', which is not a ULID" in bad.text and "Traceback" not in bad.text
    same = json.loads("{}")
    first = "0" * 16 + "ABCDEFGHJK"
    same.update({"0000": first, "0001": first})
    ids.write_text(json.dumps(same))
    dup = run_cli(["validate", "drive"], root, TOKEN)
    assert dup.code == 1 and f"frames '0000' and '0001' have the same ID {first}" in dup.text, dup.text
