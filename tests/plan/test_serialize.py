"""The saved plan format: exact round trip, one change per line, refusal of foreign files."""

from __future__ import annotations

import json

import pytest

from labelsync.errors import PlanError
from labelsync.plan.model import Action, Change, DatasetPlan, FileChange, Kind, Plan
from labelsync.plan.serialize import dumps_plan, loads_plan, plan_to_dict
from labelsync.state import Blob

CHANGES = (
    Change(Action.CREATE, Kind.FILE, "dataset.city/segment.day/file.a.jpg", "day", None, FileChange("a.jpg", Blob("a" * 40, 10), source="data/a.jpg", send=("a" * 40,)), 10),
    Change(Action.DELETE, Kind.SEGMENT, "dataset.city/segment.old", "old", {"files": 3}, None, breaking=True, reason="deletes segment 'old' and its 3 files"),
)
PLAN = Plan(
    datasets=(
        DatasetPlan("city", "default", "tensorbay", "normal", "c0ffee", "sha256:" + "1" * 64, CHANGES, warnings=("w",)),
        DatasetPlan("empty", "default", "tensorbay", "fusion", None, "sha256:" + "2" * 64),
    ),
    created_at="2026-11-22T00:00:00Z",
    root="/repo",
    source={"repository": "git@example:acme/data.git", "commit": "abc"},
)


def test_round_trip_is_exact_and_one_change_per_line() -> None:
    text = dumps_plan(PLAN)
    assert loads_plan(text) == PLAN
    assert json.loads(text) == plan_to_dict(PLAN)
    change_lines = [line for line in text.splitlines() if line.startswith("   {")]
    assert len(change_lines) == 2
    assert json.loads(text)["summary"] == {"has_changes": True, "create": 1, "update": 0, "delete": 1, "replace": 0, "upload_bytes": 10, "blocked": False}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("not json", "not valid JSON"),
        ('{"hello": 1}', "not a labelsync plan file"),
        ('{"format_version": 99, "datasets": []}', "format_version 99 is not supported"),
        ('{"format_version": 1, "datasets": [{"name": "x"}]}', "malformed plan file"),
    ],
)
def test_foreign_files_are_refused_with_one_line(text: str, message: str) -> None:
    with pytest.raises(PlanError) as err:
        loads_plan(text, origin="plan.json")
    assert message in str(err.value) and str(err.value).startswith("plan.json: ")


def test_file_and_label_changes_load_as_typed_values_and_save_byte_for_byte() -> None:
    """A version-1 plan written before changes were typed reads into FileChange/LabelState
    and is written back unchanged (the saved format did not move)."""
    from labelsync.plan.model import LabelState, MaskUpload

    file_json = {
        "remotePath": "a.png", "checksum": "a" * 40, "fileSize": 3, "label": {"SEMANTIC_MASK": {"checksum": "m" * 40, "fileSize": 2}},
        "timestamp": 1.5, "frameId": None, "sensorName": None, "source": "data/a.png", "send": ["a" * 40, "m" * 40],
        "masks": {"SEMANTIC_MASK": {"checksum": "m" * 40, "fileSize": 2, "source": "masks/a.png"}},
    }
    doc = plan_to_dict(Plan(datasets=(DatasetPlan("d", "r", "tensorbay", "normal", None, "sha256:" + "3" * 64),)))
    doc["datasets"][0]["changes"] = [
        {"action": "create", "kind": "file", "address": "dataset.d/segment.s/file.a.png", "segment": "s", "before": None, "after": file_json, "upload_bytes": 5},
        {"action": "update", "kind": "label", "address": "dataset.d/segment.s/label.a.png", "segment": "s",
         "before": {"label": {}, "timestamp": 1.5, "frameId": None, "sensorName": None}, "after": file_json, "upload_bytes": 0},
    ]
    plan = loads_plan(json.dumps(doc))
    created, relabelled = plan.datasets[0].changes
    assert isinstance(created.after, FileChange) and created.after.source == "data/a.png"
    assert created.after.masks == (MaskUpload("SEMANTIC_MASK", Blob("m" * 40, 2), "masks/a.png"),)
    assert created.after.send == ("a" * 40, "m" * 40) and created.after.needs_upload
    assert relabelled.before == LabelState({}, 1.5)
    assert plan_to_dict(plan)["datasets"][0]["changes"] == doc["datasets"][0]["changes"]


def test_a_file_change_without_its_content_identity_is_a_malformed_plan() -> None:
    doc = plan_to_dict(PLAN)
    del doc["datasets"][0]["changes"][0]["after"]["fileSize"]
    with pytest.raises(PlanError, match="malformed plan file"):
        loads_plan(json.dumps(doc))
