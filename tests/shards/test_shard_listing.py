"""What each shard reads of the remote: its share from --prepare's one listing (shards.live),
the whole remote only when that file is missing or does not match. Real CLI processes
against a request-counting emulator on loopback; shards run one after the other so that
each one's requests are its own."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

from tests.shards.conftest import Counting, cli, make_repo, popen, prepare
from tests.support.gate_proxy import GateProxy
from tests.support.tensorbay import Remote

PAGE = 128  # the client's page size of data/details


def _update(repo: Path, url: str, n: int) -> None:
    """The dataset of ``make_repo(n=300, prune=True)`` changed: files added, three removed, labels changed."""
    make_repo(repo, url, n=n, prune=True)
    for i in range(3):
        (repo / "data" / f"f{i:03d}.bin").unlink()
    gone = {f"f{i:03d}.bin" for i in range(3)}
    lines = [json.loads(line) for line in (repo / "labels.jsonl").read_text().splitlines()]
    kept = [dict(line, label={"BOX2D": [{"box2d": {"xmin": 2, "ymin": 2, "xmax": 7, "ymax": 8}, "category": "bus"}]})
            for line in lines if line["remotePath"] not in gone]
    (repo / "labels.jsonl").write_text("".join(json.dumps(line) + "\n" for line in kept))


def _expected(n: int) -> list[str]:
    return [f"f{i:03d}.bin" for i in range(3, n)]


def _finish_and_check(repo: Path, remote: Remote, n: int, commits: int) -> None:
    result = cli(repo, "apply", "shards.json", "--finish")
    assert result.code == 0, result.text
    items = remote.items("ds1")
    assert sorted(items) == _expected(n)
    assert {d["label"]["BOX2D"][0]["category"] for d in items.values() if d.get("label", {}).get("BOX2D")} == {"bus"}
    assert len(remote.commits("ds1")) == commits
    assert cli(repo, "plan", ".", "--detailed-exitcode").code == 0


def test_each_shard_reads_only_its_share_prepare_lists_the_remote_once(tmp_path: Path, counted: tuple[Remote, Counting]) -> None:
    remote, app = counted
    repo = make_repo(tmp_path / "repo", remote.url, n=300, prune=True)
    assert cli(repo, "apply", ".", "--auto-approve").code == 0
    _update(repo, remote.url, 320)
    app.routes.clear()
    prepare(repo, 4)
    assert app.listings() == -(-300 // PAGE), dict(app.routes)  # the base, listed once
    assert (repo / "shards.live").is_file()
    for i in range(1, 5):
        app.routes.clear()
        result = cli(repo, "apply", "shards.json", "--shard", f"{i}/4")
        assert result.code == 0, result.text
        assert "lists the remote instead" not in result.err, result.err
        assert app.listings() == 0, (i, dict(app.routes))  # was 3 pages of the base + 3 of the draft
        assert app.routes["GET datasets/*/segments"] == 0, (i, dict(app.routes))
    _finish_and_check(repo, remote, 320, commits=2)


def test_a_missing_or_mismatched_share_file_falls_back_to_listing_with_the_same_end_state(tmp_path: Path, counted: tuple[Remote, Counting]) -> None:
    remote, app = counted
    repo = make_repo(tmp_path / "repo", remote.url, n=300, prune=True)
    assert cli(repo, "apply", ".", "--auto-approve").code == 0
    _update(repo, remote.url, 310)
    spec = json.loads(prepare(repo, 2).read_text())
    offset, length, _, _ = spec["live"]["sections"][0]
    live = bytearray((repo / "shards.live").read_bytes())
    live[offset + length // 2] ^= 0xFF  # shard 1's section no longer matches shards.json
    (repo / "shards.live").write_bytes(bytes(live))
    app.routes.clear()
    result = cli(repo, "apply", "shards.json", "--shard", "1/2")
    assert result.code == 0, result.text
    assert "shards.live does not match shards.json" in result.err and "lists the remote instead" in result.err, result.err
    assert app.listings() >= -(-300 // PAGE), dict(app.routes)
    (repo / "shards.live").unlink()
    result = cli(repo, "apply", "shards.json", "--shard", "2/2")
    assert result.code == 0, result.text
    assert "no shards.live next to shards.json" in result.err, result.err
    assert "Traceback" not in result.err
    _finish_and_check(repo, remote, 310, commits=2)


def _uploaded(result_out: str) -> int:
    found = re.search(r"(\d+) file\(s\) uploaded", result_out)
    assert found, result_out
    return int(found.group(1))


def test_a_rerun_shard_lists_the_draft_and_skips_what_it_holds_one_without_its_marker_writes_again(
    tmp_path: Path, counted: tuple[Remote, Counting]
) -> None:
    remote, app = counted
    repo = make_repo(tmp_path / "repo", remote.url, n=60)
    prepare(repo, 2)
    first = cli(repo, "apply", "shards.json", "--shard", "1/2")
    assert first.code == 0 and _uploaded(first.out) > 0, first.text
    markers = sorted(p.name for p in (repo / "shard-reports").glob(".shard-*.started"))
    assert markers == [".shard-0001-of-0002.started"], markers
    app.routes.clear()
    again = cli(repo, "apply", "shards.json", "--shard", "1/2")  # a re-run here: it knows it ran
    assert again.code == 0 and _uploaded(again.out) == 0, again.text
    assert app.listings() >= 1 and app.routes["POST storage/upload"] == 0, dict(app.routes)
    for p in (repo / "shard-reports").glob("*shard-0001*"):
        p.unlink()  # a re-run elsewhere (a fresh CI runner): no marker, no report
    app.routes.clear()
    elsewhere = cli(repo, "apply", "shards.json", "--shard", "1/2")
    assert elsewhere.code == 0 and _uploaded(elsewhere.out) == _uploaded(first.out), elsewhere.text
    assert app.listings() == 0, dict(app.routes)
    assert cli(repo, "apply", "shards.json", "--shard", "2/2").code == 0
    result = cli(repo, "apply", "shards.json", "--finish")
    assert result.code == 0, result.text
    assert len(remote.items("ds1")) == 60 and len(remote.commits("ds1")) == 1
    assert cli(repo, "plan", ".", "--detailed-exitcode").code == 0


def test_a_rerun_whose_draft_listing_other_shards_make_incomplete_writes_its_share_again(tmp_path: Path, emulator: Remote) -> None:
    proxy = GateProxy(emulator.url).serve()
    try:
        repo = make_repo(tmp_path / "repo", proxy.url, n=300)
        prepare(repo, 2)
        assert cli(repo, "apply", "shards.json", "--shard", "1/2").code == 0
        # the re-run's first page of the draft is answered, then held until shard 2 has
        # registered its share: the next pages no longer match the first one's totalCount
        gate = proxy.gate("GET", r"/data/details$", stage="answer")
        rerun = popen(repo, "apply", "shards.json", "--shard", "1/2")
        deadline = time.monotonic() + 60
        while gate.held == 0 and rerun.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert gate.held == 1, "the re-run did not list the draft"
        other = cli(repo, "apply", "shards.json", "--shard", "2/2")
        assert other.code == 0, other.text
        gate.open()
        out, err = rerun.communicate(timeout=120)
        assert rerun.returncode == 0, out + err
        assert "the listing is incomplete" in err and "this shard writes its whole share again" in err, err
        assert _uploaded(out) > 0
        result = cli(repo, "apply", "shards.json", "--finish")
        assert result.code == 0, result.text
        assert len(emulator.items("ds1")) == 300 and len(emulator.commits("ds1")) == 1
        assert cli(repo, "plan", ".", "--detailed-exitcode").code == 0
    finally:
        proxy.stop()
