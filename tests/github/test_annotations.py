"""Workflow-command escaping and diagnostics as annotations."""

from __future__ import annotations

from pathlib import Path

import pytest

from labelsync.github.annotations import (
    annotation_lines,
    annotation_path,
    escape_data,
    escape_property,
    workflow_command,
)


@pytest.mark.parametrize(
    ("text", "data", "prop"),
    [
        ("plain", "plain", "plain"),
        ("50% done", "50%25 done", "50%25 done"),
        ("a\nb\r\nc", "a%0Ab%0D%0Ac", "a%0Ab%0D%0Ac"),
        ("x: y, z", "x: y, z", "x%3A y%2C z"),
        ("%0A", "%250A", "%250A"),
        ("::error::x", "::error::x", "%3A%3Aerror%3A%3Ax"),
    ],
)
def test_escaping(text: str, data: str, prop: str) -> None:
    assert escape_data(text) == data
    assert escape_property(text) == prop


def test_workflow_command_leaves_out_empty_properties() -> None:
    assert workflow_command("error", "bad", file="a.yaml", line=0, col=3) == "::error file=a.yaml,col=3::bad"
    assert workflow_command("notice", "hi") == "::notice::hi"


def test_diagnostics_become_annotations_relative_to_the_workspace(tmp_path: Path) -> None:
    workspace = tmp_path
    cwd = tmp_path / "infra"
    diagnostics = [
        {"file": "datasets/city.yaml", "line": 12, "column": 9, "message": "unknown field 'categoriez'",
         "path": "spec.catalog.BOX2D", "hint": "did you mean 'categories'?"},
        {"file": "labels/day.jsonl", "line": 3, "column": 1, "message": "unknown category: bus,\nline 2",
         "severity": "warning"},
        {"file": "", "line": 0, "column": 0, "message": "no manifests found"},
    ]
    lines = annotation_lines(diagnostics, cwd=cwd, workspace=workspace)
    assert lines == [
        "::error file=infra/datasets/city.yaml,line=12,col=9,title=labelsync::unknown field 'categoriez' "
        "[spec.catalog.BOX2D] (hint: did you mean 'categories'?)",
        "::warning file=infra/labels/day.jsonl,line=3,col=1,title=labelsync::unknown category: bus,%0Aline 2",
        "::error title=labelsync::no manifests found",
    ]


def test_paths_outside_the_workspace_are_kept_as_given(tmp_path: Path) -> None:
    assert annotation_path("../../elsewhere.yaml", cwd=tmp_path / "ws", workspace=tmp_path / "ws") == "../../elsewhere.yaml"
    assert annotation_path("a.yaml", cwd=tmp_path, workspace=None) == "a.yaml"
    assert annotation_path(str(tmp_path / "ws" / "b.yaml"), cwd=tmp_path, workspace=tmp_path / "ws") == "b.yaml"


def test_scrub_applies_to_message_and_file(tmp_path: Path) -> None:
    lines = annotation_lines(
        [{"file": "s3cr3t-value.yaml", "line": 1, "column": 1, "message": "token s3cr3t-value rejected"}],
        cwd=tmp_path,
        workspace=tmp_path,
        scrub=lambda s: s.replace("s3cr3t-value", "***"),
    )
    assert lines == ["::error file=***.yaml,line=1,col=1,title=labelsync::token *** rejected"]
