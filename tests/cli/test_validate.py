"""``labelsync validate``: text and JSON output, exit codes, the default path."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from labelsync.cli import main

REPO = Path(__file__).resolve().parents[2]
BAD = "apiVersion: labelsync/v1\nkind: Dataset\nmetadata: {name: x}\nspec:\n  prnue: true\n"


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    with pytest.raises(SystemExit) as exc:
        main(list(args))
    out = capsys.readouterr()
    return int(exc.value.code or 0), out.out, out.err


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "labelsync.yaml").write_text("remotes: {}\n")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_valid_prints_a_summary_and_exits_0(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (repo / "m.yaml").write_text("apiVersion: labelsync/v1\nkind: Dataset\nmetadata: {name: x}\n")
    code, out, err = _run(capsys, "validate")
    assert (code, out, err) == (0, "1 manifest in 1 file(s) valid\n", "")


def test_invalid_prints_every_line_then_error_and_exits_1(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (repo / "m.yaml").write_text(BAD)
    code, out, err = _run(capsys, "validate", "m.yaml")
    assert code == 1
    assert err.splitlines() == [
        "m.yaml:5:3: unknown field 'prnue' (did you mean 'prune'?) [spec.prnue]",
        "Error: 1 problem found in 1 file(s)",
        "Hint: fix each line above",
    ]


def test_json_format(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (repo / "m.yaml").write_text(BAD)
    code, out, _ = _run(capsys, "validate", "--format", "json", ".")
    assert code == 1
    body = json.loads(out)
    assert body == {
        "version": 1,
        "valid": False,
        "summary": "1 problem found in 1 file(s)",
        "diagnostics": [
            {"file": "m.yaml", "line": 5, "column": 3, "message": "unknown field 'prnue' (did you mean 'prune'?)",
             "path": "spec.prnue", "hint": None, "severity": "error"}
        ],
    }


def test_json_format_valid(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "validate", "--format", "json", str(REPO / "examples" / "quickstart"))
    assert code == 0
    assert json.loads(out)["valid"] is True


def test_missing_path(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(capsys, "validate", "nope.yaml")
    assert code == 1
    assert err.startswith("nope.yaml:0:0: no such file or directory")


def test_no_local_skips_data_checks(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (repo / "m.yaml").write_text(
        "apiVersion: labelsync/v1\nkind: Dataset\nmetadata: {name: x}\nspec:\n  segments: [{name: s, data: {path: gone}}]\n"
    )
    assert _run(capsys, "validate")[0] == 1
    assert _run(capsys, "validate", "--no-local")[0] == 0


GOOD = "apiVersion: labelsync/v1\nkind: Dataset\nmetadata: {name: %s}\n"


def test_summary_counts_the_files_the_problems_are_in(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (repo / "a.yaml").write_text(BAD)
    (repo / "b.yaml").write_text(GOOD % "b")
    (repo / "c.yaml").write_text(GOOD % "c")
    code, _, err = _run(capsys, "validate")
    assert code == 1
    assert "Error: 1 problem found in 1 file(s)" in err.splitlines()


def _with_labels(repo: Path, labels: str, data_path: str = "data") -> None:
    (repo / "data").mkdir()
    (repo / "data" / "a.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    (repo / "labels.jsonl").write_text(labels)
    (repo / "m.yaml").write_text(
        GOOD % "x" + "spec:\n  catalog: {CLASSIFICATION: {categories: [{name: day}]}}\n"
        f"  segments:\n    - name: s\n      data: {{path: {data_path}}}\n      labels: {{path: labels.jsonl}}\n"
    )


def test_label_file_problems_get_no_relative_path_hint(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _with_labels(repo, '{"remotePath": "a.png", "label": {"CLASSIFICATION": {"category": "dusk"}}}\n')
    code, _, err = _run(capsys, "validate")
    assert code == 1
    lines = err.splitlines()
    assert lines[0].startswith("labels.jsonl:1:"), err
    assert lines[-2:] == ["Error: 1 problem found in 1 file(s)", "Hint: fix each line above"]


def test_path_problems_get_the_relative_path_hint(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _with_labels(repo, "", data_path="missing")
    code, _, err = _run(capsys, "validate")
    assert code == 1
    assert err.splitlines()[-1] == "Hint: fix each line above; paths are relative to the manifest file", err
