"""The broken-input corpus: every case exits 1 with its expected message, file and line, no traceback.

Each directory under ``corpus/`` is one case: the files to validate, an ``expect`` file
holding the text (``file:line:column: message``) the output must contain, and optionally a
``target`` file naming what to validate (default: the case directory).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import CORPUS, REPO

CASES = sorted(p.name for p in CORPUS.iterdir() if p.is_dir())
DIAG_LINE = re.compile(r"^[^:\s][^:]*:\d+:\d+: \S")


def test_corpus_is_large_enough() -> None:
    assert len(CASES) >= 25


def _check_output(text: str, expect: str) -> None:
    assert "Traceback" not in text
    assert expect in text, f"expected {expect!r} in:\n{text}"
    assert re.match(r"^[^:]+:[1-9]\d*:\d+: ", expect), "every expectation names a file and a line"
    lines = [line for line in text.splitlines() if line and not line.startswith(("Error:", "Hint:"))]
    assert lines, "at least one diagnostic line"
    for line in lines:
        assert DIAG_LINE.match(line), f"not a file:line:column line: {line!r}"


@pytest.mark.parametrize("case", CASES)
def test_corpus_case(case: str, cli, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    directory = CORPUS / case
    expect = (directory / "expect").read_text(encoding="utf-8").strip()
    target = (directory / "target").read_text().strip() if (directory / "target").exists() else "."
    monkeypatch.chdir(directory)
    result = cli("validate", target)
    assert result.code == 1, result.text
    _check_output(result.text, expect)
    assert result.err.rstrip().splitlines()[-2].startswith("Error: "), "a one-line summary ends the output"


@pytest.mark.parametrize("case", ["yaml-alias-bomb", "label-undeclared-category"])
def test_corpus_case_through_the_console_script(case: str) -> None:
    directory = CORPUS / case
    env = {k: v for k, v in os.environ.items() if not k.startswith("LABELSYNC_")}
    proc = subprocess.run(
        [sys.executable, "-m", "labelsync", "validate", "."],
        cwd=directory, capture_output=True, text=True, timeout=60, env={**env, "PYTHONPATH": str(REPO)},
    )
    assert proc.returncode == 1
    _check_output(proc.stdout + proc.stderr, (directory / "expect").read_text().strip())


def test_file_over_the_size_limit(tmp_path: Path, cli, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    big = tmp_path / "big.yaml"
    big.write_text("apiVersion: labelsync/v1\nkind: Dataset\n# " + "x" * (10 * 1024 * 1024) + "\n")
    monkeypatch.chdir(tmp_path)
    result = cli("validate", "big.yaml")
    assert result.code == 1
    _check_output(result.text, "big.yaml:1:1: file is 10485802 bytes, over the 10 MiB limit for manifests")


def test_data_symlink_pointing_outside_the_repository(tmp_path: Path, cli, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "a.png").write_bytes(b"x")
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "labelsync.yaml").write_text("remotes: {}\n")
    (repo / "data").symlink_to(outside, target_is_directory=True)
    (repo / "m.yaml").write_text(
        "apiVersion: labelsync/v1\nkind: Dataset\nmetadata: {name: x}\nspec:\n  segments:\n    - name: s\n      data: {path: data}\n"
    )
    monkeypatch.chdir(repo)
    result = cli("validate", ".")
    assert result.code == 1
    _check_output(result.text, "m.yaml:7:20: path 'data' is a symlink (or goes through one) that points outside the repository")


def test_every_problem_is_reported_at_once(tmp_path: Path, cli, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "labelsync.yaml").write_text("remotes: {}\n")
    (tmp_path / "a.yaml").write_text(
        "apiVersion: labelsync/v1\nkind: Dataset\nmetadata: {name: a}\nspec:\n  prune: 1\n  descripton: x\n"
        "---\napiVersion: labelsync/v1\nkind: Dataset\nmetadata: {name: b}\nspec:\n  segments: [{name: s}, {name: s}]\n"
    )
    (tmp_path / "b.yaml").write_text("kind: [\n")
    monkeypatch.chdir(tmp_path)
    result = cli("validate")
    assert result.code == 1
    for expect in (
        "a.yaml:5:10: expected a boolean (true/false), got integer 1 [spec.prune]",
        "a.yaml:6:3: unknown field 'descripton' (did you mean 'description'?) [spec.descripton]",
        "a.yaml:12:32: duplicate segment 's' [spec.segments[1].name]",
        "b.yaml:2:1: invalid YAML",
        "Error: 4 problems found in 2 file(s)",
    ):
        assert expect in result.text, result.text
