"""``labelsync import`` of a TensorBay dataset made with the official tensorbay SDK (over
loopback to the emulator, as tests/emulator/test_tensorbay_sdk.py connects it), then
``plan`` on what it wrote: "No changes". Also the formats other than JSON Lines."""

from __future__ import annotations

import json
import struct
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from labelsync.emulator.runtime import EmbeddedServer
from labelsync.emulator.tensorbay import create_app
from tests.support.repo import TOKEN_ENV, run_cli

tensorbay = pytest.importorskip("tensorbay")

from tensorbay import GAS  # noqa: E402
from tensorbay.dataset import Data, Dataset  # noqa: E402
from tensorbay.label import Catalog, Classification, LabeledBox2D, SemanticMask  # noqa: E402

pytestmark = pytest.mark.sdk
TOKEN = "Accesskey-" + "2" * 32
CATALOG = {
    "BOX2D": {"categories": [{"name": "car"}, {"name": "person"}], "attributes": [{"name": "occluded", "type": "boolean"}]},
    "CLASSIFICATION": {"categories": [{"name": "day"}, {"name": "night"}]},
    "SEMANTIC_MASK": {"categories": [{"name": "bg", "categoryId": 0}, {"name": "road", "categoryId": 1}]},
}


def png(width: int, height: int, seed: int) -> bytes:
    """A small valid PNG (its header gives the size the label formats need)."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    rows = b"".join(b"\x00" + bytes([seed % 256]) * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


@pytest.fixture
def server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    with EmbeddedServer(create_app(tmp_path / "tb", tokens=[TOKEN])) as running:
        yield running.url


def sdk_upload(url: str, work: Path, *, masks: bool) -> dict[str, bytes]:
    """Create and commit dataset ``city`` with the SDK: catalog, notes, boxes, a classification,
    timestamps and (``masks``) a semantic mask."""
    work.mkdir()
    gas = GAS(TOKEN, url="https://placeholder.invalid/")
    gas._client.gateway_url = f"{url}/gatewayv2/"
    gas._client._open_api = f"{url}/gatewayv2/tensorbay-open-api/v1/"
    gas.create_dataset("city")
    dataset = Dataset("city")
    catalog = Catalog.loads(CATALOG if masks else {k: v for k, v in CATALOG.items() if k != "SEMANTIC_MASK"})
    for key in CATALOG:
        if hasattr(catalog, key.lower()) and (masks or key != "SEMANTIC_MASK"):
            setattr(dataset.catalog, key.lower(), getattr(catalog, key.lower()))
    dataset.notes.is_continuous = True
    segment = dataset.create_segment("train")
    contents: dict[str, bytes] = {}
    for i in range(3):
        name = f"img{i}.png"
        contents[name] = png(40, 30, i)
        (work / name).write_bytes(contents[name])
        data = Data(str(work / name), timestamp=1000.5 + i)
        data.label.box2d = [LabeledBox2D(i, i + 1, i + 10, i + 20, category="car", attributes={"occluded": bool(i % 2)})]
        if i == 1:
            data.label.classification = Classification("night")
        if masks and i == 0:
            (work / "mask.png").write_bytes(png(40, 30, 9))
            data.label.semantic_mask = SemanticMask(str(work / "mask.png"))
        segment.append(data)
    client = gas.upload_dataset(dataset, jobs=1)
    client.commit("made with the SDK")
    return contents


def repo(root: Path, url: str) -> Path:
    root.mkdir()
    (root / "labelsync.yaml").write_text(f"remotes:\n  tb: {{provider: tensorbay, url: '{url}', tokenEnv: {TOKEN_ENV}}}\n")
    return root


def test_sdk_dataset_imported_with_data_then_plan_shows_no_changes(server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # the SDK caches mask files under the working directory
    contents = sdk_upload(server, tmp_path / "sdk", masks=True)
    root = repo(tmp_path / "repo", server)
    result = run_cli(["import", "tb", "city", "--with-data"], root, TOKEN)
    assert result.code == 0, result.text
    assert "3 items, 3 labelled, 1 masks, 3 data files" in result.out
    base = root / "city"
    for name, data in contents.items():
        assert (base / "train" / "data" / name).read_bytes() == data
    assert (base / "train" / "masks" / "semantic_mask" / "img0.png").read_bytes() == png(40, 30, 9)
    lines = [json.loads(line) for line in (base / "train" / "labels.jsonl").read_text().splitlines()]
    assert [line["timestamp"] for line in lines] == [1000.5, 1001.5, 1002.5]
    assert lines[0]["label"]["SEMANTIC_MASK"]["path"] == "masks/semantic_mask/img0.png"
    manifest = (base / "dataset.yaml").read_text()
    assert "isContinuous: true" in manifest and "categoryId: 1" in manifest
    assert run_cli(["validate", "city"], root, TOKEN).code == 0
    plan = run_cli(["plan", "city", "--detailed-exitcode"], root, TOKEN)
    assert plan.code == 0, plan.text
    assert "No changes" in plan.out


@pytest.mark.parametrize(("fmt", "line"), [
    ("coco", "1 CLASSIFICATION label, 1 SEMANTIC_MASK label and 3 timestamps: --format coco cannot hold them (e.g. train/img0.png)"),
    ("voc", "1 CLASSIFICATION label, 1 SEMANTIC_MASK label and 3 timestamps: --format voc cannot hold them (e.g. train/img0.png)"),
    ("yolo", "1 CLASSIFICATION label, 1 SEMANTIC_MASK label and 3 timestamps: --format yolo cannot hold them (e.g. train/img0.png)"),
    ("labelme", "1 SEMANTIC_MASK label and 3 timestamps: --format labelme cannot hold them (e.g. train/img0.png)"),
])
def test_sdk_dataset_another_format_cannot_hold_is_refused_before_anything_is_written(
    server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fmt: str, line: str
) -> None:
    monkeypatch.chdir(tmp_path)
    sdk_upload(server, tmp_path / "sdk", masks=True)
    root = repo(tmp_path / "repo", server)
    result = run_cli(["import", "tb", "city", "--with-data", "--format", fmt, "--dir", "out"], root, TOKEN)
    assert result.code == 1, result.text
    assert result.err.splitlines()[0] == f"Error: {line}", result.err
    assert "Traceback" not in result.err and result.out == ""
    assert sorted(p.name for p in root.iterdir()) == ["labelsync.yaml"]


def test_import_refuses_an_existing_target_and_writes_nothing(server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    sdk_upload(server, tmp_path / "sdk", masks=False)
    root = repo(tmp_path / "repo", server)
    (root / "city" / "train").mkdir(parents=True)
    (root / "city" / "train" / "keep.txt").write_text("mine")
    result = run_cli(["import", "tb", "city", "--with-data"], root, TOKEN)
    assert result.code == 1
    assert result.err.startswith("Error: city/train already exists; import never overwrites a file") and "Traceback" not in result.err
    assert sorted(p.name for p in (root / "city").rglob("*")) == ["keep.txt", "train"]


def test_import_errors_are_one_line(server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    root = repo(tmp_path / "repo", server)
    missing = run_cli(["import", "tb", "nope"], root, TOKEN)
    assert missing.code == 1 and "Error: remote 'tb' has no dataset 'nope'" in missing.err
    coco = run_cli(["import", "tb", "nope", "--format", "coco"], root, TOKEN)
    assert coco.code == 1 and "Error: --format coco needs the images (for their sizes)" in coco.err
    outside = run_cli(["import", "tb", "nope", "--dir", str(tmp_path / "elsewhere")], root, TOKEN)
    assert outside.code == 1 and "is outside the repository" in outside.err
    assert not (root / "nope").exists() and not (tmp_path / "elsewhere").exists()


def test_a_download_that_does_not_match_its_checksum_leaves_nothing(server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.support.rewrite_proxy import rewriting_proxy

    def wrong_checksum(path: str, query: dict[str, str], body: object) -> object:
        if path.endswith("/data/details") and isinstance(body, dict):
            for entry in body.get("dataDetails", []):
                if entry.get("remotePath") == "img2.png":
                    entry["checksum"] = "0" * 40
        return body

    monkeypatch.chdir(tmp_path)
    sdk_upload(server, tmp_path / "sdk", masks=True)
    with rewriting_proxy(server, wrong_checksum) as proxy:
        root = repo(tmp_path / "repo", proxy)
        result = run_cli(["import", "tb", "city", "--with-data"], root, TOKEN)
    assert result.code == 1, result.text
    assert "Error: train/img2.png: the bytes downloaded do not match the checksum the remote gave" in result.err
    assert "Traceback" not in result.err
    assert not (root / "city").exists()  # img0, img1 and the mask were written, then removed
