"""Sharded apply run by the executors (local processes, a Dask LocalCluster), and a shard
killed mid-upload then re-run: each ends in the same state as a plain apply."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from labelsync.emulator.runtime import EmbeddedServer, FaultConfig
from labelsync.emulator.tensorbay import create_app
from tests.shards.conftest import cli, make_repo, popen, prepare
from tests.support.repo import TOKEN_ENV
from tests.support.tensorbay import TOKEN, Remote


def _state(remote: Remote, name: str) -> dict[str, tuple[str, object]]:
    return {p: (d["checksum"], d.get("label")) for p, d in remote.items(name).items()}


def _plain(tmp_path: Path, remote: Remote, n: int) -> dict[str, tuple[str, object]]:
    repo = make_repo(tmp_path / "plain", remote.url, n=n, name="plain")
    assert cli(repo, "apply", ".", "--auto-approve").code == 0
    return _state(remote, "plain")


def test_local_executor_runs_every_shard_then_finishes(tmp_path: Path, emulator: Remote) -> None:
    repo = make_repo(tmp_path / "repo", emulator.url, n=24)
    prepare(repo, 3)
    result = cli(repo, "apply", "shards.json", "--executor", "local", "--jobs", "2")
    assert result.code == 0, result.text
    assert len(emulator.commits("ds1")) == 1
    assert _state(emulator, "ds1") == _plain(tmp_path, emulator, 24)
    assert cli(repo, "plan", ".", "--detailed-exitcode").code == 0


def test_dask_executor_with_a_local_cluster_ends_as_a_plain_apply(tmp_path: Path, emulator: Remote, monkeypatch: pytest.MonkeyPatch) -> None:
    from distributed import LocalCluster

    monkeypatch.setenv(TOKEN_ENV, TOKEN)  # the workers read the token from their environment, as any shard
    repo = make_repo(tmp_path / "repo", emulator.url, n=24)
    prepare(repo, 4)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        result = cli(repo, "apply", "shards.json", "--executor", "dask", "--scheduler", cluster.scheduler_address, timeout=180)
    assert result.code == 0, result.text
    assert len(emulator.commits("ds1")) == 1
    assert _state(emulator, "ds1") == _plain(tmp_path, emulator, 24)
    assert cli(repo, "plan", ".", "--detailed-exitcode").code == 0


def _draft_count(remote: Remote, name: str) -> int:
    body = remote.http.get("datasets", params={"name": name}).json()
    if not body["totalCount"]:
        return 0
    ds = body["datasets"][0]["id"]
    drafts = remote.http.get(f"datasets/{ds}/drafts", params={"status": "OPEN"}).json()["drafts"]
    if not drafts:
        return 0
    n = drafts[0]["number"]
    count = remote.http.get(f"datasets/{ds}/data", params={"segmentName": "train", "draftNumber": n, "limit": 1})
    return int(count.json()["totalCount"]) if count.status_code == 200 else 0


def test_a_shard_killed_mid_upload_and_run_again_reaches_the_same_end_state(tmp_path: Path) -> None:
    with EmbeddedServer(create_app(tmp_path / "state", tokens=[TOKEN], faults=FaultConfig(latency_ms=15))) as srv:
        remote = Remote(srv.url)
        repo = make_repo(tmp_path / "repo", srv.url, n=400)
        prepare(repo, 2)
        # the rate budget keeps the shard slow enough to be killed mid-upload
        proc = popen(repo, "apply", "shards.json", "--shard", "1/2", "--jobs", "2", "--max-requests-per-second", "50")
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and _draft_count(remote, "ds1") == 0 and proc.poll() is None:
            time.sleep(0.1)
        assert proc.poll() is None, "the shard finished before it could be killed"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        assert not list((repo / "shard-reports").glob("shard-0001-*.json"))  # a killed shard has no report
        assert cli(repo, "apply", "shards.json", "--finish").code == 1
        for i in (1, 2):
            result = cli(repo, "apply", "shards.json", "--shard", f"{i}/2")
            assert result.code == 0, result.text
        result = cli(repo, "apply", "shards.json", "--finish")
        assert result.code == 0, result.text
        assert len(remote.commits("ds1")) == 1
        assert _state(remote, "ds1") == _plain(tmp_path, remote, 400)
        assert cli(repo, "plan", ".", "--detailed-exitcode").code == 0
        remote.http.close()


def test_the_local_executor_names_the_failed_shards(tmp_path: Path, emulator: Remote) -> None:
    import json

    repo = make_repo(tmp_path / "repo", emulator.url, n=6)
    spec = json.loads(prepare(repo, 2).read_text())
    ds, draft = spec["prepared"]["datasetId"], spec["prepared"]["draft"]
    assert emulator.http.patch(f"datasets/{ds}/drafts/{draft}", json={"status": "CLOSED"}).status_code < 300
    result = cli(repo, "apply", "shards.json", "--executor", "local", "--jobs", "2")
    assert result.code == 1, result.text
    assert "shard(s) 1, 2 of 2 failed" in result.err and "no longer held" in result.err
    assert "Traceback" not in result.err


def test_sharded_options_outside_a_sharded_apply_are_usage_errors(tmp_path: Path, emulator: Remote) -> None:
    repo = make_repo(tmp_path / "repo", emulator.url, n=2)
    for args, message in (
        (["-o", "x.json", "."], "-o belongs to a sharded apply"),
        (["--prepare", "--finish", "."], "--prepare and --finish cannot be combined"),
        (["--prepare", "."], "--prepare needs -o FILE and --shards N"),
        (["dataset.yaml", "--shard", "1/2"], "not a labelsync-shards/v1 file"),
        (["--shard", "1/2", "."], "takes the shards file"),
        (["--shard", "1/2", "missing.json"], "missing.json: no such shards file"),
    ):
        result = cli(repo, "apply", *args)
        assert result.code != 0 and message in result.err, (args, result.text)
        assert "Traceback" not in result.err


def test_an_unwritable_shards_file_is_refused_before_the_lock_is_taken(tmp_path: Path, emulator: Remote) -> None:
    repo = make_repo(tmp_path / "repo", emulator.url, n=2)
    result = cli(repo, "apply", "--prepare", "-o", "dataset.yaml/shards.json", "--shards", "2", ".")
    assert result.code == 1 and "cannot write dataset.yaml/shards.json" in result.err, result.text
    assert cli(repo, "apply", ".", "--auto-approve").code == 0  # no sharded lock was left behind
