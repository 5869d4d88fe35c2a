"""The official tensorbay SDK (1.24.2) against the emulator over loopback: the §9.2 flows.

Approach 2 of the contract's §9.1: a GAS made for a placeholder https URL, then its
client's ``_open_api`` / ``gateway_url`` pointed at the emulator's plain-HTTP root. The SDK's
requests.Session is process-global and created lazily; nothing here changes its config.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from labelsync.emulator.runtime import EmbeddedServer
from labelsync.emulator.tensorbay import create_app

tensorbay = pytest.importorskip("tensorbay")

from tensorbay import GAS  # noqa: E402
from tensorbay.dataset import Data, Dataset, Frame, FusionDataset, FusionSegment  # noqa: E402
from tensorbay.exception import (  # noqa: E402
    ForbiddenError,
    InvalidParamsError,
    NameConflictError,
    ResourceNotExistError,
    ResponseError,
)
from tensorbay.label import Catalog, Classification, Label, LabeledBox2D, SemanticMask  # noqa: E402
from tensorbay.sensor import Camera, Lidar  # noqa: E402
from ulid import from_timestamp  # noqa: E402

pytestmark = pytest.mark.sdk
TOKEN = "Accesskey-" + "1" * 32
ROOT = "0" * 32
CATALOG = {
    "BOX2D": {
        "categories": [{"name": "car"}, {"name": "person"}],
        "attributes": [{"name": "occluded", "type": "boolean"}],
    },
    "CLASSIFICATION": {"categories": [{"name": "day"}, {"name": "night"}]},
    "SEMANTIC_MASK": {"categories": [{"name": "bg", "categoryId": 0}, {"name": "road", "categoryId": 1}]},
}


@pytest.fixture
def gas(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[GAS]:
    monkeypatch.chdir(tmp_path)  # the SDK caches mask files under the working directory
    with EmbeddedServer(create_app(tmp_path / "tb", tokens=[TOKEN])) as server:
        client = GAS(TOKEN, url="https://placeholder.invalid/")
        client._client.gateway_url = f"{server.url}/gatewayv2/"
        client._client._open_api = f"{server.url}/gatewayv2/tensorbay-open-api/v1/"
        yield client


def _write(path: Path, data: bytes) -> str:
    path.write_bytes(data)
    return str(path)


def _box(i: int) -> LabeledBox2D:
    return LabeledBox2D(i, i + 1, i + 10.5, i + 20, category="car", attributes={"occluded": bool(i % 2)})


def _normal_dataset(tmp_path: Path) -> tuple[Dataset, dict[str, bytes]]:
    dataset = Dataset("ds1")
    catalog = Catalog.loads(CATALOG)
    for key in CATALOG:
        setattr(dataset.catalog, key.lower(), getattr(catalog, key.lower()))
    dataset.notes.is_continuous = True
    segment = dataset.create_segment("train")
    contents = {}
    for i in range(3):
        name = f"img{i}.txt"
        contents[name] = f"CONTENT{i}".encode() * (i + 1)
        data = Data(_write(tmp_path / name, contents[name]), timestamp=1000.5 + i)
        data.label.box2d = [_box(i)]
        if i == 0:
            mask = SemanticMask(_write(tmp_path / "mask-local-name.bin", b"\x89PNG fake mask bytes"))
            mask.all_attributes = {0: {"occluded": True}}
            data.label.semantic_mask = mask
        segment.append(data)
    return dataset, contents


def test_normal_dataset_flow(gas: GAS, tmp_path: Path) -> None:
    user = gas.get_user()
    assert user.name == "labelsync-emulator"

    dc = gas.create_dataset("ds1")
    assert dc.status.commit_id == ROOT
    assert list(gas.list_dataset_names()) == ["ds1"]

    dataset, contents = _normal_dataset(tmp_path)
    dc = gas.upload_dataset(dataset, jobs=2)
    assert dc.status.draft_number == 1
    assert [d.number for d in dc.list_drafts()] == [1]
    assert dc.get_notes().is_continuous is True
    assert dc.get_catalog() == dataset.catalog

    sc = dc.get_segment("train")
    assert list(sc.list_data_paths()) == ["img0.txt", "img1.txt", "img2.txt"]
    data = sc.get_data("img0.txt")
    assert data.open().read() == contents["img0.txt"]
    assert data.label.semantic_mask.path == "img0.png"
    assert data.label.semantic_mask.open().read() == b"\x89PNG fake mask bytes"
    assert data.label.semantic_mask.all_attributes == {0: {"occluded": True}}
    assert data.label.box2d == [_box(0)]

    relabel = Data("img1.txt")
    relabel.label.classification = Classification("night")
    sc.upload_label(relabel)
    assert sc.get_data("img1.txt").label.classification == Classification("night")
    sc.upload_file(_write(tmp_path / "extra.txt", b"extra"), "renamed.txt")
    assert "renamed.txt" in list(sc.list_data_paths())
    sc.delete_data("renamed.txt")
    assert "renamed.txt" not in list(sc.list_data_paths())
    dc.update_draft(title="new title", description="draft description")
    assert dc.get_draft().title == "new title"

    dc.commit("first", "line one\n\nlabelsync-digest: abc", tag="v1")
    commits = list(dc.list_commits())
    assert [c.title for c in commits] == ["first"]
    assert commits[0].description == "line one\n\nlabelsync-digest: abc"
    assert [b.name for b in dc.list_branches()] == ["main"]
    assert [t.name for t in dc.list_tags()] == ["v1"]
    assert dc.get_commit("v1").commit_id == dc.status.commit_id
    assert dc.get_total_size() == sum(len(v) for v in contents.values())
    assert list(dc.list_drafts()) == []

    read = Dataset("ds1", gas)
    segment = read["train"]
    assert [d.path for d in segment] == ["img0.txt", "img1.txt", "img2.txt"]
    for i, item in enumerate(segment):
        assert item.timestamp == 1000.5 + i
        assert item.open().read() == contents[item.path]
        if i != 1:  # upload_label replaced img1's whole label
            assert item.label.box2d == [_box(i)]
    assert segment[1].label.classification == Classification("night")
    assert not hasattr(segment[1].label, "box2d")
    assert read.catalog == dataset.catalog

    # a new draft copies the head (catalog, data)
    dc.create_branch("dev")
    number = dc.create_draft("on dev")
    assert number == 2
    assert dc.get_catalog() == dataset.catalog
    assert list(dc.get_segment("train").list_data_paths()) == ["img0.txt", "img1.txt", "img2.txt"]
    dc.checkout(revision="main")
    number3 = dc.create_draft("on main")
    assert number3 == 3
    dc.checkout(revision="main")
    dc.close_draft(number)
    assert [d.number for d in dc.list_drafts(status="CLOSED")] == [2]
    dc.close_draft(number3)
    dc.delete_tag("v1")
    assert list(dc.list_tags()) == []
    dc.delete_branch("dev")
    assert [b.name for b in dc.list_branches()] == ["main"]
    assert [c.title for c in dc.list_commits()] == ["first"]  # commits survive

    gas.update_dataset("ds1", alias="alias one", is_public=False)
    assert gas.get_dataset("ds1").alias == "alias one"
    gas.rename_dataset("ds1", "ds2")
    assert list(gas.list_dataset_names()) == ["ds2"]
    gas.delete_dataset("ds2")
    assert list(gas.list_dataset_names()) == []


def test_label_statistics_and_diff(gas: GAS, tmp_path: Path) -> None:
    gas.create_dataset("ds1")
    dataset, _ = _normal_dataset(tmp_path)
    dc = gas.upload_dataset(dataset)
    stats = dc.get_label_statistics().dumps()
    assert stats["BOX2D"]["quantity"] == 3
    assert stats["BOX2D"]["categories"][0]["name"] == "car"
    diff = dc.get_diff()
    assert diff[0].name == "train"
    assert diff[0].action == "add"


def test_fusion_flow(gas: GAS, tmp_path: Path) -> None:
    fc = gas.create_dataset("fus", is_fusion=True)
    fc.create_draft("d1")
    fsc = fc.get_or_create_segment("s")
    lidar = Lidar("lidar")
    lidar.set_extrinsics(translation=[1, 2, 3])
    camera = Camera("cam")
    camera.set_camera_matrix(fx=1, fy=2, cx=3, cy=4)
    fsc.upload_sensor(lidar)
    fsc.upload_sensor(camera)
    fsc.upload_sensor(camera)  # upsert
    bytes_of: dict[str, bytes] = {}
    for i in range(3):
        frame = Frame()
        for sensor in ("lidar", "cam"):
            name = f"{sensor}{i}.bin"
            bytes_of[name] = f"{sensor}-{i}".encode()
            frame[sensor] = Data(_write(tmp_path / name, bytes_of[name]), timestamp=float(i))
        fsc.upload_frame(frame, timestamp=10 * (3 - i))  # uploaded newest first
    fixed = Frame(frame_id=from_timestamp(1))
    fixed["lidar"] = Data(_write(tmp_path / "fixed.bin", b"fixed"))
    fsc.upload_frame(fixed)

    frames = list(fsc.list_frames())
    assert len(frames) == 4
    ids = [str(f.frame_id) for f in frames]
    assert ids == sorted(ids)
    assert frames[0].frame_id == fixed.frame_id
    assert frames[1]["cam"].open().read() == b"cam-2"
    assert sorted(s.name for s in fsc.get_sensors()) == ["cam", "lidar"]

    with pytest.raises(ResponseError):
        bad = Frame()
        bad["radar"] = Data(_write(tmp_path / "r.bin", b"radar"))
        fsc.upload_frame(bad, timestamp=99)

    fsc.delete_frame(frames[0].frame_id)
    assert len(list(fsc.list_frames())) == 3
    fsc.delete_sensor("cam")
    assert [s.name for s in fsc.get_sensors()] == ["lidar"]
    fc.commit("fusion commit")

    read = FusionDataset("fus", gas)
    segment: FusionSegment = read[0]
    assert [s.name for s in segment.sensors] == ["lidar"]
    assert [frame["lidar"].open().read() for frame in segment] == [b"lidar-2", b"lidar-1", b"lidar-0"]


def test_error_paths(gas: GAS) -> None:
    with pytest.raises(ResourceNotExistError):
        gas.get_dataset("nope")
    dc = gas.create_dataset("ds1")
    with pytest.raises(NameConflictError):
        gas.create_dataset("ds1")
    with pytest.raises(ResourceNotExistError):
        dc.get_branch("nope")
    with pytest.raises(ResourceNotExistError):
        dc.checkout(revision="nope")
    with pytest.raises(ForbiddenError):
        dc.create_branch("dev")
    dc.create_draft("d")
    with pytest.raises(InvalidParamsError):
        dc.upload_catalog(Catalog.loads({}))
    dc.create_segment("seg")
    with pytest.raises(NameConflictError):
        dc._client.open_api_do("POST", "segments", dc.dataset_id, json={"name": "seg", "draftNumber": 1})
    with pytest.raises(ResourceNotExistError):
        data = Data("missing.txt")
        data.label.classification = Classification("day")
        dc.get_segment("seg").upload_label(data)
    dc.commit("c", tag="t1")
    dc.create_draft("d2")
    with pytest.raises(ResponseError):
        dc.commit("c2", tag="t1")


def test_upload_dataset_wrong_branch(gas: GAS, tmp_path: Path) -> None:
    gas.create_dataset("ds1")
    dataset, _ = _normal_dataset(tmp_path)
    with pytest.raises(ResourceNotExistError):
        gas.upload_dataset(dataset, branch_name="wrong")


def test_segment_copy_move_strategies(gas: GAS, tmp_path: Path) -> None:
    gas.create_dataset("ds1")
    dataset, _ = _normal_dataset(tmp_path)
    dc = gas.upload_dataset(dataset)
    dc.copy_segment("train", "copy")
    assert sorted(dc.list_segment_names()) == ["copy", "train"]
    with pytest.raises(ResponseError):
        dc.copy_segment("train", "copy")
    dc.move_segment("copy", "moved")
    assert sorted(dc.list_segment_names()) == ["moved", "train"]
    sc = dc.get_segment("moved")
    sc.copy_data("img0.txt", "img0-copy.txt")
    sc.move_data("img1.txt", "img1-moved.txt")
    assert list(sc.list_data_paths()) == ["img0-copy.txt", "img0.txt", "img1-moved.txt", "img2.txt"]
    assert sc.get_data("img0-copy.txt").label.box2d == [_box(0)]


def test_label_round_trip_all_types(gas: GAS, tmp_path: Path) -> None:
    label_json: dict[str, Any] = {
        "CLASSIFICATION": {"category": "cat", "attributes": {"color": "red"}},
        "BOX3D": [
            {
                "box3d": {
                    "translation": {"x": 4, "y": 5, "z": 6},
                    "rotation": {"w": 1.0, "x": 2.0, "y": 3.0, "z": 4.0},
                    "size": {"x": 1, "y": 2, "z": 3},
                },
                "category": "car",
                "instance": "2",
            }
        ],
        "POLYGON": [{"polygon": [{"x": 1, "y": 2}, {"x": 3, "y": 4}, {"x": 5, "y": 6}], "category": "c"}],
        "KEYPOINTS2D": [{"keypoints2d": [{"x": 1, "y": 2, "v": 2}], "category": "person"}],
        "SENTENCE": [
            {"sentence": [{"text": "hello", "begin": 0.1, "end": 0.5}], "attributes": {"gender": "male"}}
        ],
    }
    gas.create_dataset("ds1")
    dataset = Dataset("ds1")
    data = Data(_write(tmp_path / "a.txt", b"a"))
    data.label = Label.loads(label_json)
    dataset.create_segment("s").append(data)
    dc = gas.upload_dataset(dataset)
    assert dc.get_segment("s").get_data("a.txt").label.dumps() == label_json


def test_sdk_over_https_without_patching(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """§9.1 approach 1: HTTPS with a self-signed certificate, trusted via REQUESTS_CA_BUNDLE."""
    from tests.support.tls import self_signed

    cert, key = self_signed(tmp_path)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(cert))
    app = create_app(tmp_path / "tb", tokens=[TOKEN])
    with EmbeddedServer(app, ssl_certfile=str(cert), ssl_keyfile=str(key)) as server:
        assert server.url.startswith("https://")
        client = GAS(TOKEN, url=f"{server.url}/")
        dc = client.create_dataset("secure")
        dc.create_draft("d")
        segment = dc.get_or_create_segment("s")
        segment.upload_file(_write(tmp_path / "f.txt", b"over tls"))
        assert segment.get_data("f.txt").open().read() == b"over tls"
