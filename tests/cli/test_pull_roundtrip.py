"""``apply`` then ``pull`` then ``plan`` keeps every label, and ``pull`` changes no byte when
nothing changed: Deepen labels of every combination, and every example under ``examples/``."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.providers.deepen.conftest import PNG, TOKEN, TOKEN_ENV, Emulator, write_repo
from tests.providers.deepen.conftest import emulator as emulator  # noqa: F401 - the fixture
from tests.support.repo import run_cli

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
CASES = sorted(
    p.name
    for p in EXAMPLES.iterdir()
    # an example with its own labelsync.yaml names a real server (Label Studio): its provider's tests run it
    if p.is_dir() and list(p.glob("*.yaml")) and not (p / "labelsync.yaml").is_file()
)

B = {"xmin": 1, "ymin": 2, "xmax": 11, "ymax": 12}
RING = [{"x": 0, "y": 0}, {"x": 5, "y": 0}, {"x": 5, "y": 5}]
EVERY_COMBINATION = {
    # a box and a polygon of one category, both sharing an instance with others
    "a.png": {
        "BOX2D": [
            {"box2d": B, "category": "car", "instance": "7"},
            {"box2d": {**B, "xmin": 2}, "category": "car", "instance": "7"},  # same type, same instance
            {"box2d": {**B, "xmin": 3}, "category": "car"},  # no instance
            {"box2d": {**B, "xmin": 4}, "category": "sign", "instance": "7", "attributes": {"occluded": True}},
        ],
        "POLYGON": [{"polygon": RING, "category": "car", "instance": "7"}, {"polygon": RING, "category": "car"}],
        "CLASSIFICATION": {"category": "car"},
    },
    # a box with an instance alone, in a catalog without isTracking
    "b.png": {"BOX2D": [{"box2d": B, "category": "sign", "instance": "only-one"}]},
    "c.png": {},
}
CATALOG = {
    "BOX2D": {"categories": [{"name": "sign"}, {"name": "car"}], "attributes": [{"name": "occluded", "type": "boolean"}]},
    "POLYGON": {"categories": [{"name": "car"}]},
    "CLASSIFICATION": {"categories": [{"name": "car"}]},
}


def cli(args: list[str], root: Path) -> object:
    return run_cli(args, root, "unused", extra_env={TOKEN_ENV: TOKEN})


def test_deepen_keeps_every_label_through_apply_pull_plan(emulator: Emulator, tmp_path: Path) -> None:  # noqa: F811
    files = {name: PNG + name.encode() for name in EVERY_COMBINATION}
    root = write_repo(tmp_path / "repo", emulator.api, files, spec={"catalog": CATALOG}, labels=EVERY_COMBINATION)
    label_file = root / "labels.jsonl"
    assert run_cli(["validate"], root, "").code == 0
    applied = cli(["apply", "--auto-approve"], root)
    assert applied.code == 0, applied.text  # type: ignore[attr-defined]
    assert "imported 8 label(s)" in applied.text  # type: ignore[attr-defined]
    again = cli(["plan", "--detailed-exitcode"], root)
    assert again.code == 0 and "No changes" in again.out, again.text  # type: ignore[attr-defined]

    before = label_file.read_bytes()
    pulled = cli(["pull"], root)
    assert pulled.code == 0, pulled.text  # type: ignore[attr-defined]
    assert "0 label files updated, 1 unchanged." in pulled.out  # type: ignore[attr-defined]
    assert label_file.read_bytes() == before  # not canonical JSON, yet not rewritten

    label_file.write_text("")  # lost locally: pull brings every label back
    assert cli(["pull"], root).code == 0
    back = {json.loads(line)["remotePath"]: json.loads(line)["label"] for line in label_file.read_text().splitlines()}
    assert back == {k: v for k, v in EVERY_COMBINATION.items() if v}
    assert run_cli(["validate"], root, "").code == 0
    final = cli(["plan", "--detailed-exitcode"], root)
    assert final.code == 0 and "No changes" in final.out, final.text  # type: ignore[attr-defined]


def _git(repo: Path, *args: str) -> str:
    env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t", "PATH": "/usr/bin:/bin"}
    return subprocess.run(["git", *args], cwd=repo, env=env, check=True, capture_output=True, text=True).stdout


@pytest.mark.parametrize("name", CASES)
def test_pull_after_apply_changes_no_byte_of_an_example(tmp_path: Path, name: str) -> None:
    repo = tmp_path / name
    shutil.copytree(EXAMPLES / name, repo)
    (repo / ".gitignore").write_text(".labelsync/\n")
    _git(repo, "init", "-q")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "example")
    applied = run_cli(["apply", ".", "--auto-approve"], repo, "", timeout=300)
    assert applied.code == 0, applied.text
    pulled = run_cli(["pull", "."], repo, "")
    assert pulled.code == 0, pulled.text
    assert _git(repo, "status", "--porcelain") == ""
