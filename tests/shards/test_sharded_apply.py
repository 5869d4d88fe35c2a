"""Sharded apply against the TensorBay emulator over loopback, every step a real CLI process."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from tests.shards.conftest import cli, make_repo, popen, prepare
from tests.support.gate_proxy import Entry, GateProxy
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


def _created(status: int) -> Callable[[list[Entry]], bool]:
    return lambda log: any(m == "POST" and p.endswith("/datasets") and s == status for m, p, s in log)


def _drafted(log: list[Entry]) -> bool:
    return any(m == "POST" and p.endswith("/drafts") and s == 200 for m, p, s in log)


def _race(repo: Path, proxy: GateProxy, *args: str, hold_commit: bool = False) -> list[tuple[int, str]]:
    """Two CLI runs of ``args`` (``{i}`` filled with 0/1) whose dataset creates race, staged
    so that the loser's create gets its 409 only once the winner holds its draft: the first
    create to arrive is held before it reaches the emulator until the other run created the
    dataset and opened its draft (and, with ``hold_commit``, the winner's commit is held until
    the loser has exited). ``[(exit code, stderr)]`` of both runs."""
    create = proxy.gate("POST", r"/datasets$")
    commit = proxy.gate("POST", r"/commits$") if hold_commit else None
    procs = [popen(repo, *(a.format(i=i) for a in args)) for i in range(2)]
    try:
        assert proxy.wait_for(_created(201)) and proxy.wait_for(_drafted), proxy.log
        assert create.held == 1, "the race was not staged: no create was held"
        create.open()  # the held create now gets its 409, while the winner holds the draft
        assert proxy.wait_for(_created(409)), proxy.log
        if commit is not None:
            _first_exit(procs)
            commit.open()
        outs = [p.communicate(timeout=120) for p in procs]
    finally:
        proxy.stop()
        for p in procs:
            if p.poll() is None:
                p.kill()
    return [(p.returncode, err) for p, (_, err) in zip(procs, outs, strict=True)]


def _first_exit(procs: list[subprocess.Popen[str]], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while all(p.poll() is None for p in procs):
        assert time.monotonic() < deadline, "neither run exited"
        time.sleep(0.05)


def test_two_prepares_at_once_one_wins(tmp_path: Path, emulator: Remote) -> None:
    proxy = GateProxy(emulator.url).serve()
    repo = make_repo(tmp_path / "repo", proxy.url, n=4)
    runs = _race(repo, proxy, "apply", "--prepare", "-o", "s{i}.json", "--shards", "2", ".")
    assert sorted(code for code, _ in runs) == [0, 1], runs
    loser = next(err for code, err in runs if code == 1)
    assert "already exists" not in loser, loser  # the 409 of its create is no error of its own
    assert "another labelsync apply" in loser or "held by a sharded apply" in loser, loser
    assert "Traceback" not in loser
    assert len(emulator.http.get("datasets", params={"name": "ds1"}).json()["datasets"]) == 1
    repo = make_repo(tmp_path / "repo", emulator.url, n=4)
    # and a plain apply meanwhile is refused too: the sharded apply holds the branch
    result = cli(repo, "apply", ".", "--auto-approve")
    assert result.code == 1 and "held by a sharded apply" in result.err, result.text


def test_two_applies_creating_one_dataset_at_once_one_wins_the_other_sees_the_lock(tmp_path: Path, emulator: Remote) -> None:
    proxy = GateProxy(emulator.url).serve()
    repo = make_repo(tmp_path / "repo", proxy.url, n=4)
    runs = _race(repo, proxy, "apply", ".", "--auto-approve", hold_commit=True)
    assert sorted(code for code, _ in runs) == [0, 1], runs
    loser = next(err for code, err in runs if code == 1)
    assert "already exists" not in loser, loser
    assert "another labelsync apply is writing to branch 'main'" in loser, loser
    assert "Traceback" not in loser and len([line for line in loser.splitlines() if line.strip()]) <= 3, loser
    assert len(emulator.commits("ds1")) == 1 and len(emulator.items("ds1")) == 4


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


def test_sharded_update_with_prune_deletes_relabels_and_adds_then_replan_is_a_noop(tmp_path: Path, emulator: Remote) -> None:
    repo = make_repo(tmp_path / "repo", emulator.url, n=20, prune=True)
    assert cli(repo, "apply", ".", "--auto-approve").code == 0
    make_repo(repo, emulator.url, n=26, prune=True)  # six new files; relabel below; remove three
    for i in range(3):
        (repo / "data" / f"f{i:03d}.bin").unlink()
    lines = [json.loads(line) for line in (repo / "labels.jsonl").read_text().splitlines()]
    kept = [dict(line, label={"BOX2D": [{"box2d": {"xmin": 2, "ymin": 2, "xmax": 7, "ymax": 8}, "category": "bus"}]})
            for line in lines if line["remotePath"] not in {f"f{i:03d}.bin" for i in range(3)}]
    (repo / "labels.jsonl").write_text("".join(json.dumps(line) + "\n" for line in kept))
    prepare(repo, 3)
    for i in (1, 2, 3):
        result = cli(repo, "apply", "shards.json", "--shard", f"{i}/3")
        assert result.code == 0, result.text
    result = cli(repo, "apply", "shards.json", "--finish")
    assert result.code == 0, result.text
    items = emulator.items("ds1")
    assert sorted(items) == [f"f{i:03d}.bin" for i in range(3, 26)]
    assert {d["label"]["BOX2D"][0]["category"] for d in items.values() if d.get("label", {}).get("BOX2D")} == {"bus"}
    assert len(emulator.commits("ds1")) == 2
    _no_op(repo)


def test_finish_refuses_when_the_remote_lacks_a_reported_item_and_names_its_shard(tmp_path: Path, emulator: Remote) -> None:
    repo = make_repo(tmp_path / "repo", emulator.url, n=8)
    spec_path = prepare(repo, 2)
    for i in (1, 2):
        assert cli(repo, "apply", "shards.json", "--shard", f"{i}/2").code == 0
    spec = json.loads(spec_path.read_text())
    ds, draft = spec["prepared"]["datasetId"], spec["prepared"]["draft"]
    report = json.loads((repo / "shard-reports" / "shard-0002-of-0002.json").read_text())
    gone = report["segments"]["train"][0][0]
    answer = emulator.http.request(
        "DELETE", f"datasets/{ds}/data", json={"segmentName": "train", "draftNumber": draft, "remotePath": gone}
    )
    assert answer.status_code < 300, answer.text
    result = cli(repo, "apply", "shards.json", "--finish")
    assert result.code == 1, result.text
    assert "shard(s) 2 reported" in result.err and gone in result.err
    assert cli(repo, "apply", "shards.json", "--shard", "2/2").code == 0  # the re-run puts it back
    assert cli(repo, "apply", "shards.json", "--finish").code == 0
    assert gone in emulator.items("ds1")
    # the sharded apply is over: its draft is committed, so a late shard is refused clearly
    late = cli(repo, "apply", "shards.json", "--shard", "1/2")
    assert late.code == 1 and "since --prepare (this sharded apply was finished" in late.err, late.text
    _no_op(repo)


def test_a_shard_of_an_abandoned_sharded_apply_is_refused(tmp_path: Path, emulator: Remote) -> None:
    repo = make_repo(tmp_path / "repo", emulator.url, n=6)
    spec = json.loads(prepare(repo, 2).read_text())
    ds, draft = spec["prepared"]["datasetId"], spec["prepared"]["draft"]
    assert emulator.http.patch(f"datasets/{ds}/drafts/{draft}", json={"status": "CLOSED"}).status_code < 300
    result = cli(repo, "apply", "shards.json", "--shard", "1/2")
    assert result.code == 1 and f"draft #{draft} of dataset 'ds1' is no longer held for this sharded apply" in result.err, result.text
    assert "Traceback" not in result.err
