"""Sharded apply against the TensorBay emulator over loopback, every step a real CLI process."""

from __future__ import annotations

import json
from pathlib import Path

from tests.shards.conftest import cli, make_repo, popen, prepare
from tests.support.tensorbay import Remote


def _no_op(repo: Path) -> None:
    result = cli(repo, "plan", ".", "--detailed-exitcode")
    assert result.code == 0, result.text


def test_four_shards_in_parallel_then_finish_make_one_commit_and_replan_is_a_noop(tmp_path: Path, emulator: Remote) -> None:
    repo = make_repo(tmp_path / "repo", emulator.url)
    prepare(repo, 4)
    procs = [popen(repo, "apply", "shards.json", "--shard", f"{i}/4") for i in range(1, 5)]
    outs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0, 0], outs
    reports = sorted((repo / "shard-reports").glob("shard-*.json"))
    assert len(reports) == 4
    assert sum(len(json.loads(r.read_text())["segments"]["train"]) for r in reports) == 40
    result = cli(repo, "apply", "shards.json", "--finish")
    assert result.code == 0, result.text
    assert len(emulator.commits("ds1")) == 1
    assert len(emulator.items("ds1")) == 40
    _no_op(repo)


def test_finish_before_every_shard_reported_is_refused_with_the_missing_numbers(tmp_path: Path, emulator: Remote) -> None:
    repo = make_repo(tmp_path / "repo", emulator.url, n=12)
    prepare(repo, 3)
    assert cli(repo, "apply", "shards.json", "--shard", "2/3").code == 0
    result = cli(repo, "apply", "shards.json", "--finish")
    assert result.code == 1, result.text
    assert "shard(s) 1, 3 of 3 have not reported" in result.err
    assert "Traceback" not in result.err
    assert emulator.http.get(f"datasets/{emulator.dataset_id('ds1')}/commits", params={"commit": "main"}).json().get("commits", []) == []


def test_a_shard_count_that_does_not_match_the_file_is_refused(tmp_path: Path, emulator: Remote) -> None:
    repo = make_repo(tmp_path / "repo", emulator.url, n=4)
    prepare(repo, 2)
    result = cli(repo, "apply", "shards.json", "--shard", "1/3")
    assert result.code == 1 and "prepared for 2 shards, not 3" in result.err, result.text


def test_two_prepares_at_once_one_wins(tmp_path: Path, emulator: Remote) -> None:
    repo = make_repo(tmp_path / "repo", emulator.url, n=4)
    procs = [popen(repo, "apply", "--prepare", "-o", f"s{i}.json", "--shards", "2", ".") for i in range(2)]
    outs = [p.communicate(timeout=120) for p in procs]
    codes = sorted(p.returncode for p in procs)
    assert codes == [0, 1], outs
    loser = next(err for p, (_, err) in zip(procs, outs, strict=True) if p.returncode == 1)
    assert "another labelsync apply" in loser or "held by a sharded apply" in loser, loser
    assert "Traceback" not in loser
    # and a plain apply meanwhile is refused too: the sharded apply holds the branch
    result = cli(repo, "apply", ".", "--auto-approve")
    assert result.code == 1 and "held by a sharded apply" in result.err, result.text


def test_a_provider_that_cannot_shard_refuses_at_prepare(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "labelsync.yaml").write_text("remotes:\n  default: {provider: deepen, url: 'http://127.0.0.1:9', tokenEnv: LABELSYNC_TEST_TOKEN, clientId: c1}\n")
    (repo / "data").mkdir()
    (repo / "data" / "a.png").write_bytes(b"x")
    (repo / "dataset.yaml").write_text(json.dumps({
        "apiVersion": "labelsync/v1", "kind": "Dataset", "metadata": {"name": "dj"},
        "spec": {"remote": "default", "deepen": {"datasetType": "images"}, "catalog": {"BOX2D": {"categories": [{"name": "car"}]}},
                 "segments": [{"name": "train", "data": {"path": "data"}}]},
    }))
    result = cli(repo, "apply", "--prepare", "-o", "shards.json", "--shards", "2", ".")
    assert result.code == 1, result.text
    assert "cannot split an apply into shards" in result.err
    assert len([line for line in result.err.splitlines() if line.strip()]) <= 2, result.err
    assert not (repo / "shards.json").exists()
