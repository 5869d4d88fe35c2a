"""Every example validates, plans, applies and re-plans to no changes (embedded default remote)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.support.repo import run_cli

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
CASES = sorted(
    p.name
    for p in EXAMPLES.iterdir()
    # an example with its own labelsync.yaml names a real server (Label Studio): its provider's tests run it
    if p.is_dir() and list(p.glob("*.yaml")) and not (p / "labelsync.yaml").is_file()
)


@pytest.mark.parametrize("name", CASES)
def test_example_applies_and_replans_to_no_changes(tmp_path: Path, name: str) -> None:
    repo = tmp_path / name
    shutil.copytree(EXAMPLES / name, repo)
    assert run_cli(["validate", "."], repo, "").code == 0
    first = run_cli(["plan", ".", "--detailed-exitcode"], repo, "")
    assert first.code == 2, first.text
    applied = run_cli(["apply", ".", "--auto-approve"], repo, "", timeout=300)
    assert applied.code == 0, applied.text
    assert "Traceback" not in applied.err
    assert (repo / ".labelsync" / "local").is_dir()  # the embedded emulator kept its state here
    again = run_cli(["plan", ".", "--detailed-exitcode"], repo, "")
    assert again.code == 0, again.text
    assert "No changes" in again.out


def test_examples_exist() -> None:
    assert {"quickstart", "fusion", "deepen-images"} <= set(CASES)
