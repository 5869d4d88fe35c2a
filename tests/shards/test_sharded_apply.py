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
