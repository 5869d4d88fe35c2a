"""The tag is part of the plan: an existing tag is found by `plan` (blocked, exit 1) and is
refused by apply before anything is written, so no draft is left open."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support.repo import run_cli, write_repo
from tests.support.tensorbay import TOKEN, Remote


def _open_drafts(emulator: Remote, name: str) -> list[dict]:
    ds = emulator.dataset_id(name)
    return emulator.http.get(f"datasets/{ds}/drafts", params={"status": "OPEN"}).json()["drafts"]


def _tagged(repo: Path, emulator: Remote) -> Path:
    assert run_cli(["apply", ".", "--auto-approve", "--tag", "v1"], repo, TOKEN).code == 0
    (repo / "data" / "b.jpg").write_bytes(b"a new file")
    return repo


def test_plan_shows_the_tag_and_blocks_on_an_existing_one(tmp_path: Path, emulator: Remote) -> None:
    repo = _tagged(write_repo(tmp_path / "repo", emulator.url, {"a.jpg": b"one"}), emulator)
    fresh = run_cli(["plan", ".", "--tag", "v2"], repo, TOKEN)
    assert fresh.code == 0 and "branch main, tag v2" in fresh.out, fresh.text

    taken = run_cli(["plan", ".", "--tag", "v1", "--detailed-exitcode"], repo, TOKEN)
    assert taken.code == 1, taken.text
    assert "tag 'v1' already exists on dataset 'ds1'" in taken.out  # in the plan, with the reason
    assert "Error: the plan cannot be applied: tag 'v1' already exists" in taken.err
    assert "Traceback" not in taken.err


def test_apply_with_an_existing_tag_writes_nothing(tmp_path: Path, emulator: Remote) -> None:
    repo = _tagged(write_repo(tmp_path / "repo", emulator.url, {"a.jpg": b"one"}), emulator)
    result = run_cli(["apply", ".", "--auto-approve", "--tag", "v1"], repo, TOKEN)
    assert result.code == 1 and "tag 'v1' already exists" in result.err, result.text
    assert "another apply may have committed" not in result.err
    assert _open_drafts(emulator, "ds1") == []
    assert sorted(emulator.items("ds1")) == ["a.jpg"]


def test_saved_plan_carries_its_tag_and_is_refused_before_writing_when_the_tag_appears(tmp_path: Path, emulator: Remote) -> None:
    repo = _tagged(write_repo(tmp_path / "repo", emulator.url, {"a.jpg": b"one"}), emulator)
    assert run_cli(["plan", ".", "--tag", "v2", "-o", "plan.json"], repo, TOKEN).code == 0
    assert json.loads((repo / "plan.json").read_text())["datasets"][0]["tag"] == "v2"
    assert "tag v2" in run_cli(["show", "plan.json"], repo, TOKEN).out

    other = run_cli(["apply", "plan.json", "--tag", "v3"], repo, TOKEN)
    assert other.code == 1 and "the tag is part of the plan" in other.err, other.text

    ds = emulator.dataset_id("ds1")
    head = emulator.commits("ds1")[0]["commitId"]
    assert emulator.http.post(f"datasets/{ds}/tags", json={"name": "v2", "commit": head}).status_code == 200
    refused = run_cli(["apply", "plan.json"], repo, TOKEN)
    assert refused.code == 1 and "tag 'v2' already exists" in refused.err, refused.text
    assert _open_drafts(emulator, "ds1") == []

    assert run_cli(["plan", ".", "--tag", "v4", "-o", "plan.json"], repo, TOKEN).code == 0
    assert run_cli(["apply", "plan.json"], repo, TOKEN).code == 0
    tags = emulator.http.get(f"datasets/{ds}/tags", params={"name": "v4"}).json()["tags"]
    assert tags and tags[0]["commitId"] == emulator.commits("ds1")[0]["commitId"]
