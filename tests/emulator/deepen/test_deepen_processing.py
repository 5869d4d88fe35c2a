"""process_uploaded_data over loopback, and table tests of the zip checks."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest

from labelsync.emulator.deepen.processing import inspect_upload, natural_key
from tests.emulator.deepen.deepen_support import (
    PNG,
    UNIT,
    Deepen,
    frame,
    images_zip,
    json_frames_zip,
)


def test_images_dataset_end_to_end(dp: Deepen) -> None:
    data = images_zip(["b/000059.png", "000019.png", "000009.png", "notes.txt", "__MACOSX/._x.png"])
    dataset = dp.create(len(data))
    url = dataset["files"][0]["resumable_upload_url"]
    assert dp.upload(url, data, chunk=UNIT).status_code == 200
    assert dp.process(dataset).status_code == 200
    during = dp.api.get(f"/datasets/{dataset['dataset_id']}").json()
    assert during["processing_status"] == "files_uploaded"
    assert (during["current_stage"], during["current_stage_status"]) == ("Processing", "in_progress")
    assert dp.api.get(f"/datasets/{dataset['dataset_id']}/files").json() == {"files": []}
    done = dp.wait(dataset["dataset_id"])
    assert done["processing_status"] == "files_getting_labelled"
    assert (done["current_stage"], done["current_stage_status"]) == ("Labelling", "ready")
    assert done["pipeline_status"] == {"Labelling": 0, "QA": 0, "__ALL_STAGES_DONE": 0, "__TOTAL": 3}
    assert done["pipeline_stage_status"]["Labelling"] == {
        "done": 0,
        "failed": 0,
        "in_progress": 0,
        "ready": 3,
        "waiting": 0,
    }
    assert done["pipeline_stage_status"]["QA"]["waiting"] == 3
    files = dp.api.get(f"/datasets/{dataset['dataset_id']}/files").json()["files"]
    assert [f["file_id"] for f in files] == ["000009.png", "000019.png", "b/000059.png"]
    assert files[0] == {
        "client_id": "client1",
        "dataset_id": dataset["dataset_id"],
        "file_id": "000009.png",
        "status": "labelling_in_progress",
    }
    one = dp.api.get(f"/datasets/{dataset['dataset_id']}/files/b/000059.png")
    assert one.status_code == 200 and one.json()["file_id"] == "b/000059.png"
    assert dp.api.get(f"/datasets/{dataset['dataset_id']}/files/nope.png").status_code == 404
    # A second process call is a harmless no-op.
    assert dp.process(dataset).status_code == 200


def test_3d_json_dataset_end_to_end(dp: Deepen) -> None:
    frames = {"10.json": frame(3, "images/10.png"), "2.json": frame(5, "images/2.png")}
    data = json_frames_zip(frames, {"images/10.png": PNG, "images/2.png": PNG})
    ready = dp.ready(data, dataset_type="3d", dataset_format="json")
    assert ready["frame_sizes"] == [5, 3]
    assert ready["sensor_config"]["primary_sensor_id"] == "lidar"
    assert set(ready["sensor_config"]["sensors"]) == {"lidar", "sensor1"}
    assert ready["uploaded_files"] == ["json_data.zip"]
    files = dp.api.get(f"/datasets/{ready['dataset_id']}/files").json()["files"]
    assert [f["file_id"] for f in files] == ["2.pcd", "10.pcd"]
    assert files[0]["sensors"] == ["lidar", "sensor1"]


def test_process_refuses_incomplete_upload_and_unknown_name(dp: Deepen) -> None:
    dataset = dp.create(2 * UNIT)
    ident = dataset["dataset_id"]
    incomplete = dp.api.post(
        f"/datasets/{ident}/process_uploaded_data", json={"file_name": "images_data.zip"}
    )
    assert incomplete.status_code == 400 and "not complete" in incomplete.json()["detail"]
    unknown = dp.api.post(f"/datasets/{ident}/process_uploaded_data", json={"file_name": "other.zip"})
    assert unknown.status_code == 400 and "images_data.zip" in unknown.json()["detail"]
    missing = dp.api.post("/datasets/nope/process_uploaded_data", json={"file_name": "x"})
    assert missing.status_code == 404


def bad_zip_cases() -> list[tuple[str, str | None, bytes, str]]:
    empty = io.BytesIO()
    zipfile.ZipFile(empty, "w").close()
    fake_png = io.BytesIO()
    with zipfile.ZipFile(fake_png, "w") as archive:
        archive.writestr("0001.png", b"not really a png")
    bad_frame = frame(2)
    del bad_frame["device_heading"]
    return [
        ("images", None, b"this is not a zip at all", "not a valid zip archive"),
        ("images", None, empty.getvalue(), "empty zip archive"),
        ("images", None, json_frames_zip({"a.txt": b"hello"}), "no image files"),
        ("images", None, fake_png.getvalue(), "0001.png is not a valid png image"),
        ("3d", "json", images_zip(), "no frame .json files"),
        ("3d", "json", json_frames_zip({"0.json": b"{oops"}), "0.json is not valid JSON"),
        ("3d", "json", json_frames_zip({"0.json": bad_frame}), "missing frame field(s): device_heading"),
        ("3d", "json", json_frames_zip({"0.json": frame(1, "images/0.png")}), "is not in the zip archive"),
        ("3d", "default", images_zip(), "no config.json"),
        ("images", None, images_zip(["../../etc/x.png"]), "zip entry '../../etc/x.png' has an empty, '.' or '..' path"),
        ("images", None, images_zip(["/abs.png"]), "zip entry '/abs.png' is an absolute path"),
        ("images", None, images_zip(["a\\b.png"]), "holds a backslash"),
    ]


@pytest.mark.parametrize(("dataset_type", "dataset_format", "data", "message"), bad_zip_cases())
def test_bad_upload_is_preprocessing_error_with_message(
    dp: Deepen, dataset_type: str, dataset_format: str | None, data: bytes, message: str
) -> None:
    extra = {"dataset_format": dataset_format} if dataset_format else {}
    dataset = dp.create(len(data), dataset_type=dataset_type, **extra)
    assert dp.upload(dataset["files"][0]["resumable_upload_url"], data).status_code == 200
    assert dp.process(dataset).status_code == 200
    result = dp.wait(dataset["dataset_id"])
    assert result["processing_status"] == "preprocessing_error"
    assert message in result["processing_status_message"]
    assert result["processing_error_message"] == result["processing_status_message"]
    assert dp.api.get(f"/datasets/{dataset['dataset_id']}/files").json() == {"files": []}
    labels = dp.api.post(
        f"/datasets/{dataset['dataset_id']}/labels",
        json={"type": "json", "labels": [{"file_id": "x", "label_type": "box", "label_category_id": "car"}]},
    )
    assert labels.status_code == 400


def write(tmp_path: Path, data: bytes) -> Path:
    path = tmp_path / "upload"
    path.write_bytes(data)
    return path


def test_inspect_pcd_folder_format(tmp_path: Path) -> None:
    config = {
        "primary_sensor_id": "lidar",
        "sensors": {"lidar": {"content": "lidar", "sensor_type": "lidar"}},
    }
    data = json_frames_zip(
        {"config.json": config}, {"lidar/b.pcd": b"x", "lidar/a.pcd": b"y", "other/c.pcd": b""}
    )
    outcome = inspect_upload(
        write(tmp_path, data), dataset_type="3d", dataset_format="default", stored_name="z"
    )
    assert outcome.error is None
    assert outcome.file_ids == ["a.pcd", "b.pcd"]


def test_inspect_video(tmp_path: Path) -> None:
    good = inspect_upload(
        write(tmp_path, b"\x00\x00\x00\x18ftypmp42" + bytes(20)),
        dataset_type="video",
        dataset_format=None,
        stored_name="v.mp4",
    )
    assert good.file_ids == ["v.mp4"]
    bad = inspect_upload(
        write(tmp_path, b"nope" * 10), dataset_type="video", dataset_format=None, stored_name="v.mp4"
    )
    assert bad.error == "v.mp4 is not an mp4 video."


def test_inspect_json_points_must_be_numeric(tmp_path: Path) -> None:
    bad = frame(1)
    bad["points"][0]["x"] = "1"
    data = json_frames_zip({"0.json": json.dumps(bad).encode()})
    outcome = inspect_upload(write(tmp_path, data), dataset_type="3d", dataset_format="json", stored_name="z")
    assert outcome.error == "0.json: points[0] must be an object with numeric x, y, z."


def test_natural_key_orders_digit_runs_as_numbers() -> None:
    assert sorted(["10.json", "2.json", "1.json", "a.json"], key=natural_key) == [
        "1.json",
        "2.json",
        "10.json",
        "a.json",
    ]
