"""The saved plan format: exact round trip, one change per line, refusal of foreign files."""

from __future__ import annotations

import json

import pytest

from labelsync.errors import PlanError
from labelsync.plan.model import Action, Change, DatasetPlan, Kind, Plan
from labelsync.plan.serialize import dumps_plan, loads_plan, plan_to_dict

CHANGES = (
    Change(Action.CREATE, Kind.FILE, "dataset.city/segment.day/file.a.jpg", "day", None, {"remotePath": "a.jpg", "checksum": "a" * 40}, 10),
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
