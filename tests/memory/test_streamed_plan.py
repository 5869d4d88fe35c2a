"""Plan files written as they are encoded and read back line by line (engine/saved.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from labelsync.engine.saved import read_saved_plan
from labelsync.errors import PlanError
from labelsync.plan.model import Action, Change, DatasetPlan, FileChange, Kind, Plan
from labelsync.plan.serialize import LayoutMismatch, dumps_plan, iter_plan_json, plan_from_lines
from labelsync.state import Blob

FILES = tuple(
    Change(Action.CREATE, Kind.FILE, f"dataset.city/segment.day/file.{i}.jpg", "day", None,
           FileChange(f"{i}.jpg", Blob(f"{i:040x}", i), source=f"data/{i}.jpg", send=(f"{i:040x}",)), i)
    for i in range(50)
)
PLAN = Plan(
    datasets=(
        DatasetPlan("city", "default", "tensorbay", "normal", "c0ffee", "sha256:" + "1" * 64, FILES, warnings=("w",)),
        DatasetPlan("empty", "default", "tensorbay", "fusion", None, "sha256:" + "2" * 64),
        DatasetPlan("one", "default", "tensorbay", "normal", None, "sha256:" + "3" * 64, FILES[:1]),
    ),
    created_at="2026-12-01T00:00:00Z",
    root="/repo",
    source={"commit": "abc"},
)


def test_the_pieces_are_the_saved_text_and_read_back_exactly(tmp_path: Path) -> None:
    pieces = list(iter_plan_json(PLAN))
    assert len(pieces) > len(FILES) and "".join(pieces) == dumps_plan(PLAN)
    path = tmp_path / "plan.json"
    path.write_text("".join(pieces), encoding="utf-8")
    assert plan_from_lines(path.read_text(encoding="utf-8").splitlines(keepends=True)) == PLAN
    assert read_saved_plan(path, origin="plan.json") == PLAN


def test_another_layout_of_the_same_json_is_read_whole(tmp_path: Path) -> None:
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(json.loads(dumps_plan(PLAN)), indent=2), encoding="utf-8")  # e.g. through jq
    with pytest.raises(LayoutMismatch):
        plan_from_lines(path.read_text().splitlines(keepends=True))
    assert read_saved_plan(path, origin="plan.json") == PLAN


def test_a_plan_made_by_another_version_is_refused_on_its_first_lines(tmp_path: Path) -> None:
    text = dumps_plan(PLAN).replace('"format_version": 1,', '"format_version": 2,', 1)
    path = tmp_path / "plan.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(PlanError, match="format_version 2 is not supported"):
        read_saved_plan(path, origin="plan.json")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (b"\xff\xfe not text", "not UTF-8"),
        (b"{\n", "not valid JSON"),
        (b'{"datasets": [], "format_version": 1, "created_at": 5}', None),
    ],
)
def test_bad_plan_files_are_one_clear_error(tmp_path: Path, text: bytes, message: str | None) -> None:
    path = tmp_path / "plan.json"
    path.write_bytes(text)
    if message is None:
        assert read_saved_plan(path, origin="plan.json").datasets == ()
        return
    with pytest.raises(PlanError, match=message):
        read_saved_plan(path, origin="plan.json")


def test_a_change_line_that_is_not_a_change_is_malformed(tmp_path: Path) -> None:
    lines = dumps_plan(PLAN).splitlines(keepends=True)
    k = next(i for i, line in enumerate(lines) if line.startswith("   {"))
    lines[k] = '   {"action": "explode", "kind": "file", "address": "x"},\n'
    path = tmp_path / "plan.json"
    path.write_text("".join(lines), encoding="utf-8")
    with pytest.raises(PlanError, match="malformed plan file"):
        read_saved_plan(path, origin="plan.json")
