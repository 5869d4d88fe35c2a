"""The Deepen provider end to end against the real Deepen emulator over loopback."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from labelsync.cli.sync import load_desired
from labelsync.engine.apply import apply_plan
from labelsync.engine.connect import Connections
from labelsync.engine.planning import make_plan
from labelsync.errors import ApplyError, PlanError, TransientError
from labelsync.manifest.remotes import load_remotes
from labelsync.plan.model import Action, Kind, Plan
from labelsync.providers.base import ApplyOptions, ApplyResult
from labelsync.providers.deepen import upload as up
from labelsync.providers.deepen.provider import DeepenProvider
from tests.providers.deepen.conftest import PNG, TOKEN, Emulator, box, frame, write_repo


@dataclass
class Recorder:
    """An ApplyEvents that keeps everything."""

    phases: list[str] = field(default_factory=list)
    sent: list[int] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)

    def phase(self, dataset: str, name: str) -> None:
        self.phases.append(name)

    def files_planned(self, total_files: int, total_bytes: int) -> None:
        pass

    def file_done(self, remote_path: str, nbytes: int, uploaded: bool) -> None:
        pass

    def bytes_sent(self, n: int) -> None:
        self.sent.append(n)

    def message(self, text: str) -> None:
        self.messages.append(text)

    def done(self) -> None:
        pass


def plan(root: Path) -> Plan:
    desired, root = load_desired([root / "dataset.yaml"])
    with Connections(load_remotes(root), root) as conns:
        return make_plan(desired, conns, root)


def apply(root: Path, *, chunk: int | None = None, events: Recorder | None = None) -> tuple[Plan, list[ApplyResult]]:
    desired, root = load_desired([root / "dataset.yaml"])
    with Connections(load_remotes(root), root) as conns:
        provider = conns.get("dp").provider
        assert isinstance(provider, DeepenProvider)
        if chunk:
            provider.chunk = chunk
        the_plan = make_plan(desired, conns, root)
        results = apply_plan(the_plan, conns, ApplyOptions(root=root, provider_options={"timeout": 60}), events or Recorder())
    return the_plan, results


def dataset_of(emulator: Emulator, name: str) -> dict[str, Any]:
    body = emulator.admin.get("/api/v2/clients/client-7/datasets_ids", headers={"Authorization": f"Bearer {TOKEN}"}).json()
    [entry] = [d for d in body["datasets"] if d["dataset_name"] == name]
    return dict(emulator.get(f"/_admin/datasets/{entry['dataset_id']}"))


def labels_of(emulator: Emulator, dataset_id: str) -> dict[str, list[dict[str, Any]]]:
    response = emulator.admin.get(
        f"/api/v2/datasets/{dataset_id}/labels", params={"labels_with_file_ids_order": "true"},
        headers={"Authorization": f"Bearer {TOKEN}"},
    )
    return dict(response.json()["labels"])


def test_images_dataset_created_end_to_end_then_noop(emulator: Emulator, token_env: str, tmp_path: Path) -> None:
    files = {"a.png": PNG + b"a", "b.png": PNG + b"b", "sub/c.png": PNG + b"c"}
    root = write_repo(tmp_path / "repo", emulator.api, files, labels={"a.png": box("sign"), "sub/c.png": box("car", 5)},
                      spec={"deepen": {"datasetType": "images", "instructions": "Box signs.", "tags": ["city"]}})  # fmt: skip
    events = Recorder()
    the_plan, [result] = apply(root, events=events)
    assert the_plan.datasets[0].counts()["create"] >= 1
    assert {"create", "upload", "process", "processing", "labels"} <= set(events.phases)
    assert sum(events.sent) == result.bytes_uploaded > 0

    state = dataset_of(emulator, "signs")
    ds = state["dataset"]
    assert ds["processing_status"] == "files_getting_labelled"
    assert ds["dataset_type"] == "images"
    assert sorted(f["file_id"] for f in state["files"]) == ["a.png", "b.png", "sub/c.png"]
    assert "city" in ds["tags"] and any(t.startswith("labelsync-digest:sha256:") for t in ds["tags"])
    labels = labels_of(emulator, ds["dataset_id"])
    assert [(d["label_type"], d["label_category_id"], d["box"]) for d in labels["a.png"]] == [("box", "sign", [1, 2, 10, 10])]
    assert labels["b.png"] == []
    assert labels["sub/c.png"][0]["label_category_id"] == "car"

    again = plan(root)
    assert not again.has_changes


def test_label_change_is_a_label_update_and_converges(emulator: Emulator, token_env: str, tmp_path: Path) -> None:
    root = write_repo(tmp_path / "repo", emulator.api, {"a.png": PNG + b"a", "b.png": PNG + b"b"}, labels={"a.png": box("sign")})
    apply(root)
    (root / "labels.jsonl").write_text(json.dumps({"remotePath": "b.png", "label": box("car", 3)}) + "\n"
                                       + json.dumps({"remotePath": "a.png", "label": box("sign")}) + "\n")  # fmt: skip
    the_plan, [result] = apply(root)
    [change] = the_plan.datasets[0].changes
    assert (change.action, change.kind) == (Action.UPDATE, Kind.LABEL)
    assert result.bytes_uploaded == 0
    ds = dataset_of(emulator, "signs")["dataset"]
    assert labels_of(emulator, ds["dataset_id"])["b.png"][0]["box"] == [3, 2, 10, 10]
    # the digest tag is the creation's, so this plan reads everything and finds nothing to do
    after = plan(root).datasets[0]
    assert not after.has_changes and after.warnings == ()


def test_data_change_is_a_blocked_replace_then_allowed(emulator: Emulator, token_env: str, tmp_path: Path) -> None:
    root = write_repo(tmp_path / "repo", emulator.api, {"a.png": PNG + b"a"})
    apply(root)
    old = dataset_of(emulator, "signs")["dataset"]["dataset_id"]
    (root / "data" / "b.png").write_bytes(PNG + b"b")
    blocked = plan(root).datasets[0]
    assert [c.action for c in blocked.changes] == [Action.REPLACE]
    assert blocked.blocked and "allowReplace" in blocked.blocked[0]
    with pytest.raises(PlanError):
        apply(root)
    manifest = json.loads((root / "dataset.yaml").read_text())
    manifest["spec"]["allowReplace"] = True
    (root / "dataset.yaml").write_text(json.dumps(manifest))
    apply(root)
    state = dataset_of(emulator, "signs")
    assert state["dataset"]["dataset_id"] != old
    assert sorted(f["file_id"] for f in state["files"]) == ["a.png", "b.png"]
    assert not plan(root).has_changes


def test_3d_json_dataset_created_end_to_end(emulator: Emulator, token_env: str, tmp_path: Path) -> None:
    files = {"0001.json": frame(3, "images/0001.png"), "0002.json": frame(4, "images/0002.png"),
             "images/0001.png": PNG + b"1", "images/0002.png": PNG + b"2"}  # fmt: skip
    box3d = {"BOX3D": [{"box3d": {"translation": {"x": 1, "y": 2, "z": 0.5}, "rotation": {"w": 1.0, "x": 0.0, "y": 0.0, "z": 0.0},
                                  "size": {"x": 4, "y": 2, "z": 1.5}}, "category": "car", "instance": "3"}]}  # fmt: skip
    spec = {"deepen": {"datasetType": "3d", "datasetFormat": "json", "labellingMode": "label_by_label"},
            "catalog": {"BOX3D": {"categories": [{"name": "car"}], "isTracking": True}}}  # fmt: skip
    root = write_repo(tmp_path / "repo", emulator.api, files, name="lidar", spec=spec, labels={"0002.json": box3d})
    apply(root)
    state = dataset_of(emulator, "lidar")
    ds = state["dataset"]
    assert (ds["dataset_type"], ds["dataset_format"], ds["labelling_mode"]) == ("3d", "json", "label_by_label")
    assert [f["file_id"] for f in state["files"]] == ["0001.pcd", "0002.pcd"]
    assert ds["frame_sizes"] == [3, 4]
    [label] = labels_of(emulator, ds["dataset_id"])["0002.pcd"]
    assert label["label_id"] == "car:4000003" and label["sensor_id"] == "lidar"  # the track number, in the 3d_bbox range
    assert {k: label["three_d_bbox"][k] for k in ("cx", "cy", "cz", "l", "w", "h")} == {"cx": 1, "cy": 2, "cz": 0.5, "l": 4, "w": 2, "h": 1.5}
    # a full read (no digest short cut) gives the same labels back: no changes
    desired, root2 = load_desired([root / "dataset.yaml"])
    with Connections(load_remotes(root2), root2) as conns:
        provider = conns.get("dp").provider
        live = provider.read_live(desired[0])
        assert live.recorded_digest is None  # the digest tag never proves a no-op on Deepen (labels change)
        full = provider.read_live(type(desired[0])(desired[0].dataset, desired[0].policy, "sha256:other"))
    assert full.dataset is not None and full.verified
    items = full.dataset.segments["main"].items
    assert items["0002.json"].label == box3d
    assert full.dataset.catalog == desired[0].dataset.catalog
    assert full.dataset.settings == desired[0].dataset.settings


def test_bad_zip_surfaces_the_preprocessing_error(
    emulator: Emulator, token_env: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # apply refuses such data before creating anything (test_deepen_layout.py); with that
    # local check switched off, an error processing still finds is surfaced in one line
    monkeypatch.setattr("labelsync.providers.deepen.session.content_problems", lambda *a, **k: [])
    files = {"0001.json": b'{"images": [], "timestamp": 1.0}'}
    spec = {"deepen": {"datasetType": "3d", "datasetFormat": "json"}, "catalog": {"BOX3D": {"categories": [{"name": "car"}]}}}
    root = write_repo(tmp_path / "repo", emulator.api, files, name="broken", spec=spec)
    with pytest.raises(ApplyError) as err:
        apply(root)
    message = err.value.message
    assert message.startswith("Deepen could not process dataset 'broken': ")
    assert "missing frame field(s): points, device_position, device_heading" in message
    assert "\n" not in message
    assert dataset_of(emulator, "broken")["dataset"]["processing_status"] == "preprocessing_error"


def test_interrupted_apply_resumes_upload_from_persisted_offset(emulator: Emulator, token_env: str, tmp_path: Path) -> None:
    unit = 256 * 1024
    big = PNG + bytes(i % 251 for i in range(3 * unit))
    root = write_repo(tmp_path / "repo", emulator.api, {"big.png": big, "small.png": PNG})
    emulator.post("/_admin/uploads/drop_next", {"after_bytes": unit + 1000})
    events = Recorder()
    _, [result] = apply(root, chunk=2 * unit, events=events)
    state = dataset_of(emulator, "signs")
    [upload] = state["uploads"]
    session = emulator.get(f"/_admin/uploads/{upload['upload_id']}")
    total = session["file_size"]
    assert session["complete"] and state["dataset"]["processing_status"] == "files_getting_labelled"
    # first chunk: 2 units sent, 1 unit + 1000 bytes arrived, 1 unit persisted; the resume starts at 1 unit
    assert result.bytes_uploaded == 2 * unit + (total - unit)
    assert session["bytes_received"] == unit + 1000 + (total - unit)
    assert sum(events.sent) == total
    assert any("interrupted 1 time(s)" in m for m in result.messages)


def test_killed_create_is_resumed_by_the_next_apply(emulator: Emulator, token_env: str, tmp_path: Path) -> None:
    unit = 256 * 1024
    root = write_repo(tmp_path / "repo", emulator.api, {"big.png": PNG + bytes(3 * unit)}, labels={"big.png": box()})
    # an apply that dies at the dropped connection (no retries): dataset created, 2 units persisted
    original = up.ResumableUpload.run

    def give_up_at_first_failure(self: up.ResumableUpload) -> up.UploadOutcome:
        self.max_failures = 1
        return original(self)

    emulator.post("/_admin/uploads/drop_next", {"after_bytes": 2 * unit})
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(up.ResumableUpload, "run", give_up_at_first_failure)
        with pytest.raises(TransientError):
            apply(root, chunk=3 * unit)
    second = plan(root).datasets[0]
    assert second.base is None and [c.action for c in second.changes if c.kind is Kind.DATASET] == [Action.CREATE]
    events = Recorder()
    _, [result] = apply(root, chunk=unit, events=events)
    assert result.resumed and any("resuming" in m for m in events.messages)
    state = dataset_of(emulator, "signs")
    session = emulator.get(f"/_admin/uploads/{state['uploads'][0]['upload_id']}")
    assert result.bytes_uploaded == session["file_size"] - 2 * unit
    assert labels_of(emulator, state["dataset"]["dataset_id"])["big.png"][0]["label_category_id"] == "sign"
    assert not plan(root).has_changes


def test_status_and_pull_follow_the_workforce(emulator: Emulator, token_env: str, tmp_path: Path) -> None:
    root = write_repo(tmp_path / "repo", emulator.api, {"a.png": PNG + b"a", "b.png": PNG + b"b"}, labels={"a.png": box()})
    apply(root)
    desired, _ = load_desired([root / "dataset.yaml"])
    ds_id = dataset_of(emulator, "signs")["dataset"]["dataset_id"]
    with Connections(load_remotes(root), root) as conns:
        provider = conns.get("dp").provider
        before = provider.status(desired[0])
        assert before["in_sync"] is None and before["files"] == 2  # decided by a diff (below)
        assert not plan(root).has_changes
        assert before["current_stage"] == "Labelling" and before["current_stage_status"] == "ready"
        assert before["stages"]["Labelling"]["ready"] == 2 and before["stages"]["QA"]["waiting"] == 2

        emulator.post(f"/_admin/datasets/{ds_id}/files/b.png/labels",
                      {"labels": [{"label_type": "box", "label_category_id": "car", "box": [5, 5, 2, 3]}]})  # fmt: skip
        emulator.post(f"/_admin/datasets/{ds_id}/workforce", {"action": "submit", "file_ids": ["b.png"]})
        during = provider.status(desired[0])
        assert plan(root).has_changes  # the workforce labelled b.png: not in sync any more
        assert during["current_stage_status"] == "in_progress"
        assert during["stages"]["Labelling"] == {"done": 1, "failed": 0, "in_progress": 0, "ready": 1, "waiting": 0}
        assert during["stages"]["QA"]["ready"] == 1

        emulator.post(f"/_admin/datasets/{ds_id}/complete")
        after = provider.status(desired[0])
        assert after["current_stage_status"] == "done" and after["all_stages_done"] == 2

        pulled = provider.pull_labels(desired[0])
    assert pulled == {"main": {"a.png": box(), "b.png": {"BOX2D": [{"box2d": {"xmin": 5, "ymin": 5, "xmax": 7, "ymax": 8}, "category": "car"}]}}}


def test_status_of_missing_dataset(emulator: Emulator, token_env: str, tmp_path: Path) -> None:
    root = write_repo(tmp_path / "repo", emulator.api, {"a.png": PNG})
    desired, _ = load_desired([root / "dataset.yaml"])
    with Connections(load_remotes(root), root) as conns:
        assert conns.get("dp").provider.status(desired[0]) == {"exists": False, "in_sync": False}


def test_invalid_image_surfaces_the_preprocessing_error(
    emulator: Emulator, token_env: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # what processing rejects is refused locally first (test_deepen_layout.py); switched off here
    monkeypatch.setattr("labelsync.providers.deepen.session.content_problems", lambda *a, **k: [])
    root = write_repo(tmp_path / "repo", emulator.api, {"a.png": PNG, "b.png": b"not a png at all"}, name="badimg")
    with pytest.raises(ApplyError) as err:
        apply(root)
    assert err.value.message == "Deepen could not process dataset 'badimg': b.png is not a valid png image."
    # the failed dataset plans as a replace (its data never became files)
    again = plan(root).datasets[0]
    assert [c.action for c in again.changes] == [Action.REPLACE] and again.blocked


def test_replace_applies_from_a_saved_plan_file(emulator: Emulator, token_env: str, tmp_path: Path) -> None:
    from labelsync.plan.serialize import dumps_plan, loads_plan

    root = write_repo(tmp_path / "repo", emulator.api, {"a.png": PNG + b"a"})
    apply(root)
    old = dataset_of(emulator, "signs")["dataset"]["dataset_id"]
    (root / "data" / "b.png").write_bytes(PNG + b"b")
    manifest = json.loads((root / "dataset.yaml").read_text())
    manifest["spec"]["allowReplace"] = True
    (root / "dataset.yaml").write_text(json.dumps(manifest))
    saved = loads_plan(dumps_plan(plan(root)))  # what `plan -o` writes and `apply PLANFILE` reads
    [change] = saved.datasets[0].changes
    assert change.action is Action.REPLACE and [i.remote_path for i in change.after.items] == ["a.png", "b.png"]
    with Connections(load_remotes(root), root) as conns:  # a new provider: nothing cached from planning
        apply_plan(saved, conns, ApplyOptions(root=root, provider_options={"timeout": 60}), Recorder())
    state = dataset_of(emulator, "signs")
    assert state["dataset"]["dataset_id"] != old
    assert sorted(f["file_id"] for f in state["files"]) == ["a.png", "b.png"]
    assert not plan(root).has_changes


def test_failed_replace_keeps_the_old_dataset(
    emulator: Emulator, token_env: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # what processing rejects is refused locally first (test_deepen_layout.py); switched off here
    monkeypatch.setattr("labelsync.providers.deepen.session.content_problems", lambda *a, **k: [])
    root = write_repo(tmp_path / "repo", emulator.api, {"a.png": PNG + b"a"}, labels={"a.png": box()})
    apply(root)
    old = dataset_of(emulator, "signs")["dataset"]["dataset_id"]
    (root / "data" / "b.png").write_bytes(b"not a png at all")  # the new dataset will fail processing
    manifest = json.loads((root / "dataset.yaml").read_text())
    manifest["spec"]["allowReplace"] = True
    (root / "dataset.yaml").write_text(json.dumps(manifest))
    with pytest.raises(ApplyError):
        apply(root)
    body = emulator.admin.get("/api/v2/clients/client-7/datasets_ids", headers={"Authorization": f"Bearer {TOKEN}"}).json()
    ids = [d["dataset_id"] for d in body["datasets"] if d["dataset_name"] == "signs"]
    assert old in ids  # the old dataset and its labelling survive the failed replace
    assert labels_of(emulator, old)["a.png"]
    again = plan(root).datasets[0]  # the failed leftover is ignored: the old dataset is still the base
    assert again.base == old and [c.action for c in again.changes] == [Action.REPLACE]
