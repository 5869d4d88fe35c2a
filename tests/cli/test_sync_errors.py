"""User-caused errors of plan/apply/show: one line, exit 1, no traceback, nothing half-written."""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.support.repo import run_cli

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_unwritable_plan_file_is_one_line_and_leaves_nothing(tmp_path: Path) -> None:
    repo = tmp_path / "quickstart"
    shutil.copytree(EXAMPLES / "quickstart", repo)
    (repo / "blocker").write_text("a file, not a directory")
    result = run_cli(["plan", ".", "-o", "blocker/plan.json"], repo, "")
    assert result.code == 1
    assert "Traceback" not in result.err
    assert "Error: cannot write blocker/plan.json" in result.err
    assert (repo / "blocker").read_text() == "a file, not a directory"


def test_bad_flags_and_files_are_one_line(tmp_path: Path) -> None:
    (tmp_path / "not-a-plan.json").write_text('{"hello": 1}')
    cases = [
        (["plan", "--format", "xml"], "Invalid value for '--format'"),
        (["apply", "missing-dir"], "missing-dir: no such file or directory"),
        (["apply", "not-a-plan.json"], "not a labelsync plan file"),
        (["show", "not-a-plan.json"], "not a labelsync plan file"),
        (["apply", "--jobs", "0", "."], "Invalid value for '-j' / '--jobs'"),
    ]
    for args, message in cases:
        result = run_cli(args, tmp_path, "")
        assert result.code == 1, (args, result.text)
        assert message in result.err, (args, result.err)
        assert "Traceback" not in result.err
