"""``labelsync import`` of a Deepen dataset created through the Deepen API (not by labelsync),
over loopback, then ``plan`` on what it wrote: no changes."""

from __future__ import annotations

import io
import json
import time
import zipfile
from pathlib import Path
from typing import Any

import httpx

from tests.providers.deepen.conftest import CLIENT, PNG, TOKEN, TOKEN_ENV, Emulator
from tests.support.repo import run_cli

PROFILE = {
    "pipeline_spec": [{"stage_id": "Labelling", "can_edit": True}, {"stage_id": "Review", "can_edit": False}],
    "features": {"box": {"attributes": {}, "label_category_ids": ["sign", "car"]}},
    "instructions": {"text": "box every sign"},
}
FILES = {"a.png": PNG + b"a", "sub/b.png": PNG + b"bb", "c.png": PNG + b"ccc"}


def create_through_api(emulator: Emulator, name: str = "street-signs") -> str:
    """The Deepen flow of api/deepen.md §2: create with an inline profile, PUT the zip to the
    resumable url, process it, wait, then import labels."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        for path, data in FILES.items():
            archive.writestr(path, data)
    body = buf.getvalue()
    created = emulator.post(f"/api/v2/clients/{CLIENT}/datasets", {
        "dataset_name": name, "dataset_type": "images", "labelling_mode": "frame_by_frame",
        "labelling_profile": PROFILE, "tags": ["team-a"],
        "files": [{"file_size": len(body), "file_type": "application/zip"}],
    })
    dataset_id = str(created["dataset_id"])
    url = created["files"][0]["resumable_upload_url"]
    put = httpx.put(url, content=body, headers={"Content-Range": f"bytes 0-{len(body) - 1}/{len(body)}"}, timeout=30)
    assert put.status_code in (200, 201), put.text
    file_name = httpx.URL(url).params["name"].rsplit("/", 1)[-1]
    emulator.post(f"/api/v2/datasets/{dataset_id}/process_uploaded_data", {"file_name": file_name})
    for _ in range(200):
        if emulator.get(f"/api/v2/datasets/{dataset_id}")["processing_status"] == "files_getting_labelled":
            break
        time.sleep(0.05)
    labels: list[dict[str, Any]] = [
        {"file_id": "a.png", "label_type": "box", "label_category_id": "sign", "label_id": "sign:1",
         "attributes": {}, "box": [1, 2, 10, 10]},
        {"file_id": "sub/b.png", "label_type": "box", "label_category_id": "car", "label_id": "car:1",
         "attributes": {}, "box": [5, 5, 20, 30]},
    ]
    emulator.post(f"/api/v2/datasets/{dataset_id}/labels?labelSetId=default", {"type": "json", "labels": labels})
    return dataset_id


def repo(root: Path, url: str) -> Path:
    root.mkdir(parents=True)
    (root / "labelsync.yaml").write_text(
        f"remotes:\n  dp: {{provider: deepen, url: '{url}', tokenEnv: {TOKEN_ENV}, clientId: {CLIENT}}}\n"
    )
    return root


def test_import_of_an_api_created_dataset_then_plan_shows_no_changes(emulator: Emulator, tmp_path: Path) -> None:
    create_through_api(emulator)
    root = repo(tmp_path / "repo", emulator.api)
    env = {TOKEN_ENV: TOKEN}
    result = run_cli(["import", "dp", "street-signs", "--with-data"], root, "unused", extra_env=env)
    assert result.code == 0, result.text
    assert "3 items, 2 labelled, 3 data files" in result.out
    manifest = (root / "street-signs" / "dataset.yaml").read_text()
    assert "datasetType: images" in manifest
    # an inline profile cannot be read back: the catalog lists the categories the labels use
    assert "does not give this dataset's catalog back" in result.out
    assert "- name: car\n      - name: sign" in manifest
    assert "stage: Review" in manifest and "- team-a" in manifest
    for path, data in FILES.items():
        assert (root / "street-signs" / "default" / "data" / path).read_bytes() == data
    assert run_cli(["validate", "street-signs"], root, "unused", extra_env=env).code == 0
    plan = run_cli(["plan", "street-signs", "--detailed-exitcode"], root, "unused", extra_env=env)
    assert plan.code == 0, plan.text
    assert "No changes" in plan.out


def test_import_without_data_writes_labels_and_says_data_is_missing(emulator: Emulator, tmp_path: Path) -> None:
    create_through_api(emulator)
    root = repo(tmp_path / "repo", emulator.api)
    result = run_cli(["import", "dp", "street-signs", "--dir", "ds"], root, "unused", extra_env={TOKEN_ENV: TOKEN})
    assert result.code == 0, result.text
    assert "no data files were written" in result.out
    lines = [json.loads(line) for line in (root / "ds" / "default" / "labels.jsonl").read_text().splitlines()]
    assert [(line["remotePath"], line["label"]["BOX2D"][0]["category"]) for line in lines] == [("a.png", "sign"), ("sub/b.png", "car")]
    assert not (root / "ds" / "default" / "data").exists()
