"""plan/apply against the real TensorBay emulator over loopback, through the real CLI process."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from labelsync.emulator.runtime import EmbeddedServer, FaultConfig
from labelsync.emulator.tensorbay import create_app
from tests.support.repo import TOKEN_ENV, box, cli_env, run_cli, write_repo
from tests.support.tensorbay import TOKEN, Remote


def content(i: int, size: int = 64) -> bytes:
    return hashlib.sha256(str(i).encode()).digest() * (size // 32)


def sha1(data: bytes) -> str:
    return hashlib.sha1(data).hexdigest()


def apply(repo: Path, *args: str, **kw):
    return run_cli(["apply", ".", "--auto-approve", *args], repo, TOKEN, **kw)


def plan(repo: Path, *args: str):
    return run_cli(["plan", ".", *args], repo, TOKEN)


def plan_json(repo: Path) -> dict:
    result = plan(repo, "--format", "json")
    assert result.code == 0, result.text
    return json.loads(result.out)


def race_two_applies(repo: Path) -> None:
    """Start two applies of ``repo`` at once: exactly one applies, the other fails clearly, or
    (when the machine is slow enough that it plans only after the winner committed) finds
    nothing left to do. The callers check that exactly one commit resulted."""
    env = cli_env(TOKEN)
    cmd = [sys.executable, "-m", "labelsync", "apply", ".", "--auto-approve", "--jobs", "2"]
    procs = [subprocess.Popen(cmd, cwd=repo, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outs = [p.communicate(timeout=180) for p in procs]
    codes = sorted(p.returncode for p in procs)
    if codes == [0, 0]:  # the later one planned after the winner's commit
        assert sum("No changes" in out for out, _ in outs) == 1, outs
        return
    assert codes == [0, 1], outs
    loser = next(err for p, (_, err) in zip(procs, outs, strict=True) if p.returncode == 1)
    assert any(m in loser for m in ("another labelsync apply", "could not commit", "plan is stale")), loser
    assert "Traceback" not in loser


def test_apply_then_replan_is_noop_and_remote_matches(tmp_path: Path, emulator: Remote) -> None:
    files = {f"img{i}.jpg": content(i) for i in range(5)}
    repo = write_repo(tmp_path / "repo", emulator.url, files, labels={"img0.jpg": box()})
    first = plan(repo, "--detailed-exitcode")
    assert first.code == 2, first.text
    result = apply(repo, "-m", "first import")
    assert result.code == 0, result.text
    items = emulator.items("ds1")
    assert sorted(items) == sorted(files)
    for path, data in files.items():
        assert items[path]["checksum"] == sha1(data)
        assert emulator.read(items[path]["url"]) == data
    assert items["img0.jpg"]["label"] == box()
    assert emulator.catalog("ds1") == {"BOX2D": {"categories": [{"name": "car"}, {"name": "bus"}]}}
    commits = emulator.commits("ds1")
    assert len(commits) == 1 and commits[0]["title"] == "first import"
    again = plan(repo, "--detailed-exitcode")
    assert again.code == 0, again.text
    assert "No changes" in again.out
    doc = plan_json(repo)
    assert doc["datasets"][0]["noop_proven"] is True


def test_one_changed_file_is_one_upload_and_label_change_sends_no_bytes(tmp_path: Path, emulator: Remote) -> None:
    files = {f"img{i}.jpg": content(i) for i in range(6)}
    repo = write_repo(tmp_path / "repo", emulator.url, files, labels={"img1.jpg": box()})
    assert apply(repo).code == 0
    (repo / "data" / "img2.jpg").write_bytes(content(99))
    doc = plan_json(repo)
    changes = doc["datasets"][0]["changes"]
    assert [(c["action"], c["kind"], c["after"]["remotePath"]) for c in changes] == [("update", "file", "img2.jpg")]
    assert doc["summary"]["upload_bytes"] == 64
    result = apply(repo)
    assert result.code == 0, result.text
    assert "1 file(s) / 64 B uploaded" in result.out
    assert emulator.items("ds1")["img2.jpg"]["checksum"] == sha1(content(99))

    write_repo(repo, emulator.url, {}, labels={"img1.jpg": box("bus", 3), "img3.jpg": box()})
    doc = plan_json(repo)
    changes = doc["datasets"][0]["changes"]
    assert sorted((c["kind"], c["after"]["remotePath"]) for c in changes) == [("label", "img1.jpg"), ("label", "img3.jpg")]
    assert doc["summary"]["upload_bytes"] == 0
    result = apply(repo)
    assert result.code == 0, result.text
    assert "0 file(s) / 0 B uploaded" in result.out
    items = emulator.items("ds1")
    assert items["img1.jpg"]["label"] == box("bus", 3)
    assert items["img3.jpg"]["label"] == box()
    assert len(emulator.commits("ds1")) == 3


def test_removed_file_deleted_only_with_prune(tmp_path: Path, emulator: Remote) -> None:
    files = {"a.jpg": content(1), "b.jpg": content(2)}
    repo = write_repo(tmp_path / "repo", emulator.url, files)
    assert apply(repo).code == 0
    (repo / "data" / "b.jpg").unlink()
    doc = plan_json(repo)
    assert doc["datasets"][0]["changes"] == []
    assert any("left alone" in w for w in doc["datasets"][0]["warnings"])
    assert apply(repo).code == 0
    assert sorted(emulator.items("ds1")) == ["a.jpg", "b.jpg"]
    write_repo(repo, emulator.url, {}, prune=True)
    text = plan(repo)
    assert "b.jpg" in text.out and "delete" in text.out.lower()
    assert apply(repo).code == 0
    assert sorted(emulator.items("ds1")) == ["a.jpg"]


def test_catalog_change_is_planned_and_applied(tmp_path: Path, emulator: Remote) -> None:
    repo = write_repo(tmp_path / "repo", emulator.url, {"a.jpg": content(1)})
    assert apply(repo).code == 0
    new = {"BOX2D": {"categories": [{"name": "car"}, {"name": "bus"}, {"name": "van"}]}, "CLASSIFICATION": {"categories": [{"name": "day"}]}}
    write_repo(repo, emulator.url, {}, catalog=new)
    doc = plan_json(repo)
    assert [(c["action"], c["kind"]) for c in doc["datasets"][0]["changes"]] == [("update", "catalog")]
    assert apply(repo).code == 0
    assert emulator.catalog("ds1") == new


def test_stale_plan_file_is_refused(tmp_path: Path, emulator: Remote) -> None:
    repo = write_repo(tmp_path / "repo", emulator.url, {"a.jpg": content(1)})
    assert run_cli(["plan", ".", "-o", "plan.json"], repo, TOKEN).code == 0
    other = write_repo(tmp_path / "other", emulator.url, {"a.jpg": content(1), "x.jpg": content(5)})
    assert apply(other).code == 0  # the remote moves under the saved plan
    stale = run_cli(["apply", "plan.json"], repo, TOKEN)
    assert stale.code == 1, stale.text
    assert "plan is stale" in stale.err and "Traceback" not in stale.err

    fresh = run_cli(["plan", ".", "-o", "plan.json"], repo, TOKEN)
    assert fresh.code == 0
    (repo / "data" / "a.jpg").write_bytes(content(7))  # the local files move under the saved plan
    stale = run_cli(["apply", "plan.json"], repo, TOKEN)
    assert stale.code == 1 and "plan is stale" in stale.err, stale.text


def test_saved_plan_applies_exactly(tmp_path: Path, emulator: Remote) -> None:
    repo = write_repo(tmp_path / "repo", emulator.url, {"a.jpg": content(1), "b.jpg": content(2)})
    assert run_cli(["plan", ".", "-o", "plan.json"], repo, TOKEN).code == 0
    shown = run_cli(["show", "plan.json"], repo, TOKEN)
    assert shown.code == 0 and "a.jpg" in shown.out
    result = run_cli(["apply", "plan.json"], repo, TOKEN)
    assert result.code == 0, result.text
    assert sorted(emulator.items("ds1")) == ["a.jpg", "b.jpg"]


def test_wrong_token_gives_one_clear_line(tmp_path: Path, emulator: Remote) -> None:
    repo = write_repo(tmp_path / "repo", emulator.url, {"a.jpg": content(1)})
    result = run_cli(["plan", "."], repo, "Accesskey-wrong-token-value")
    assert result.code == 1
    assert "Traceback" not in result.err
    assert "HTTP 401" in result.err and TOKEN_ENV in result.err
    assert "Accesskey-wrong-token-value" not in result.text
    missing = run_cli(["plan", "."], repo, "")
    assert missing.code == 1 and f"{TOKEN_ENV} is not set" in missing.err


def test_no_confirmation_without_terminal(tmp_path: Path, emulator: Remote) -> None:
    repo = write_repo(tmp_path / "repo", emulator.url, {"a.jpg": content(1)})
    result = run_cli(["apply", "."], repo, TOKEN)
    assert result.code == 1 and "--auto-approve" in result.err
    assert emulator.http.get("datasets").json()["totalCount"] == 0


def test_two_concurrent_applies_one_wins_other_fails_clearly(tmp_path: Path, emulator: Remote) -> None:
    files = {f"f{i}.bin": content(i, 4096) for i in range(300)}
    repo = write_repo(tmp_path / "repo", emulator.url, files)
    assert apply(repo).code == 0  # the dataset exists; now two applies race on one branch
    for i in range(300):
        (repo / "data" / f"f{i}.bin").write_bytes(content(1000 + i, 4096))
    race_two_applies(repo)
    items = emulator.items("ds1")
    assert {p: items[p]["checksum"] for p in items} == {p: sha1(content(1000 + i, 4096)) for i, p in enumerate(files)}
    assert len(emulator.commits("ds1")) == 2
    assert plan(repo, "--detailed-exitcode").code == 0


def test_killed_apply_resumes_with_exactly_one_new_commit(tmp_path: Path) -> None:
    state = tmp_path / "emulator-state"
    files = {f"f{i:04d}.bin": content(i, 8192) for i in range(800)}
    faults = FaultConfig(latency_ms=15)
    with EmbeddedServer(create_app(state, tokens=[TOKEN], faults=faults)) as srv:
        remote = Remote(srv.url)
        repo = write_repo(tmp_path / "repo", srv.url, files)
        env = cli_env(TOKEN)
        proc = subprocess.Popen(
            [sys.executable, "-m", "labelsync", "apply", ".", "--auto-approve", "--jobs", "4"],
            cwd=repo, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 60
        # wait until some files are registered in the draft, then SIGKILL mid-upload
        while time.monotonic() < deadline:
            time.sleep(0.2)
            body = remote.http.get("datasets", params={"name": "ds1"}).json()
            if body["totalCount"]:
                ds = body["datasets"][0]["id"]
                drafts = remote.http.get(f"datasets/{ds}/drafts", params={"status": "OPEN"}).json()["drafts"]
                if drafts:
                    n = drafts[0]["number"]
                    count = remote.http.get(f"datasets/{ds}/data", params={"segmentName": "train", "draftNumber": n, "limit": 1})
                    if count.status_code == 200 and count.json()["totalCount"] >= 200:
                        break
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        assert proc.returncode == -signal.SIGKILL
        result = apply(repo)
        assert result.code == 0, result.text
        assert "resum" in result.text
        sent = int(result.out.split(" file(s) / ")[0].rsplit(" ", 1)[-1])
        assert 0 < sent <= 600  # only what was missing was sent
        items = remote.items("ds1")
        assert {p: items[p]["checksum"] for p in items} == {p: sha1(d) for p, d in files.items()}
        assert len(remote.commits("ds1")) == 1
        assert plan(repo, "--detailed-exitcode").code == 0


def test_apply_survives_ten_percent_faults(tmp_path: Path) -> None:
    state = tmp_path / "emulator-state"
    files = {f"f{i:03d}.bin": content(i, 1024) for i in range(150)}
    labels = {f"f{i:03d}.bin": box(x=i) for i in range(0, 150, 3)}
    with EmbeddedServer(create_app(state, tokens=[TOKEN], faults=FaultConfig(fail_rate=0.10, seed=11))) as srv:
        repo = write_repo(tmp_path / "repo", srv.url, files, labels=labels)
        result = apply(repo)
        assert result.code == 0, result.text
    with EmbeddedServer(create_app(state, tokens=[TOKEN])) as clean:
        remote = Remote(clean.url)
        items = remote.items("ds1")
        assert {p: items[p]["checksum"] for p in items} == {p: sha1(d) for p, d in files.items()}
        assert {p: items[p]["label"] for p in items if items[p]["label"]} == labels
        assert len(remote.commits("ds1")) == 1
        write_repo(repo, clean.url, {}, labels=labels)
        assert plan(repo, "--detailed-exitcode").code == 0


def test_ctrl_c_exits_130_with_one_line_and_rerun_resumes(tmp_path: Path) -> None:
    files = {f"f{i:04d}.bin": content(i, 4096) for i in range(600)}
    with EmbeddedServer(create_app(tmp_path / "state", tokens=[TOKEN], faults=FaultConfig(latency_ms=15))) as srv:
        remote = Remote(srv.url)
        repo = write_repo(tmp_path / "repo", srv.url, files)
        env = cli_env(TOKEN)
        proc = subprocess.Popen(
            [sys.executable, "-m", "labelsync", "apply", ".", "--auto-approve", "--jobs", "2"],
            cwd=repo, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            # a test run started in the background (no job control) has SIGINT ignored, and the
            # child would inherit that: give it the default, as a terminal's Ctrl-C finds it
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and remote.http.get("datasets").json()["totalCount"] == 0:
            time.sleep(0.1)
        time.sleep(1.0)  # mid-upload
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 130, err
        assert "Traceback" not in err
        assert "Error: apply interrupted" in err and "run the same apply again to resume" in err
        result = apply(repo)
        assert result.code == 0, result.text
        items = remote.items("ds1")
        assert {p: items[p]["checksum"] for p in items} == {p: sha1(d) for p, d in files.items()}
        assert len(remote.commits("ds1")) == 1


def test_mask_labels_upload_mask_files_and_replan_to_no_changes(tmp_path: Path, emulator: Remote) -> None:
    catalog = {"BOX2D": {"categories": [{"name": "car"}]}, "SEMANTIC_MASK": {"categories": [{"name": "bg", "categoryId": 0}, {"name": "road", "categoryId": 1}]}}
    mask = {"SEMANTIC_MASK": {"path": "masks/a.png", "info": [{"categoryId": 1}]}}
    repo = write_repo(tmp_path / "repo", emulator.url, {"a.jpg": content(1), "b.jpg": content(2)}, labels={"a.jpg": mask}, catalog=catalog)
    (repo / "masks").mkdir()
    (repo / "masks" / "a.png").write_bytes(b"\x89PNG mask one")
    result = apply(repo)
    assert result.code == 0, result.text
    item = emulator.items("ds1")["a.jpg"]
    assert item["label"]["SEMANTIC_MASK"]["remotePath"] == "a.png"
    assert item["label"]["SEMANTIC_MASK"]["checksum"] == sha1(b"\x89PNG mask one")
    assert emulator.read(item["label"]["SEMANTIC_MASK"]["url"]) == b"\x89PNG mask one"
    assert plan(repo, "--detailed-exitcode").code == 0

    (repo / "masks" / "b.png").write_bytes(b"\x89PNG mask two")
    write_repo(repo, emulator.url, {}, labels={"a.jpg": mask, "b.jpg": {"SEMANTIC_MASK": {"path": "masks/b.png", "info": []}}}, catalog=catalog)
    doc = plan_json(repo)
    [change] = doc["datasets"][0]["changes"]
    assert (change["kind"], change["upload_bytes"]) == ("label", len(b"\x89PNG mask two"))
    assert apply(repo).code == 0
    item = emulator.items("ds1")["b.jpg"]
    assert emulator.read(item["label"]["SEMANTIC_MASK"]["url"]) == b"\x89PNG mask two"
    assert plan(repo, "--detailed-exitcode").code == 0


def test_dead_draft_of_another_plan_is_closed_not_committed(tmp_path: Path, emulator: Remote) -> None:
    import socket

    repo = write_repo(tmp_path / "repo", emulator.url, {"a.jpg": content(1)})
    assert apply(repo).code == 0
    ds = emulator.dataset_id("ds1")
    lock = f"labelsync-lock: host={socket.gethostname()} pid=999999 run=deadbeef beat=3 digest=sha256:{'0' * 64}"
    number = emulator.http.post(f"datasets/{ds}/drafts", json={"branchName": "main", "title": "labelsync apply 000000000000", "description": lock}).json()["draftNumber"]
    # the dead apply had written something this plan does not want
    assert emulator.http.patch(f"datasets/{ds}/notes", json={"isContinuous": True, "binPointCloudFields": None, "draftNumber": number}).status_code == 200
    write_repo(repo, emulator.url, {}, labels={"a.jpg": box()})
    result = apply(repo)
    assert result.code == 0, result.text
    assert f"closed labelsync's interrupted draft #{number}" in result.text
    head = emulator.commits("ds1")[0]["commitId"]
    assert emulator.http.get(f"datasets/{ds}/notes", params={"commit": head}).json()["isContinuous"] is False
    assert emulator.items("ds1")["a.jpg"]["label"] == box()
    assert plan(repo, "--detailed-exitcode").code == 0


def test_turning_on_prune_plans_the_deletions(tmp_path: Path, emulator: Remote) -> None:
    repo = write_repo(tmp_path / "repo", emulator.url, {"a.jpg": content(1), "extra.jpg": content(2)})
    assert apply(repo).code == 0
    (repo / "data" / "extra.jpg").unlink()
    write_repo(repo, emulator.url, {}, labels={"a.jpg": box()})  # a change, so a new digest is recorded
    assert apply(repo).code == 0
    assert plan(repo, "--detailed-exitcode").code == 0  # prune off: extra.jpg is left alone
    write_repo(repo, emulator.url, {}, labels={"a.jpg": box()}, prune=True)
    doc = plan_json(repo)
    assert [(c["action"], c["kind"]) for c in doc["datasets"][0]["changes"]] == [("delete", "file")]


def test_two_applies_resuming_the_same_dead_draft_one_wins(tmp_path: Path, emulator: Remote) -> None:
    import socket

    files = {f"f{i}.bin": content(i, 2048) for i in range(200)}
    repo = write_repo(tmp_path / "repo", emulator.url, {"seed.bin": content(9999)})
    assert apply(repo).code == 0
    write_repo(repo, emulator.url, files)
    digest = plan_json(repo)["datasets"][0]["desired_digest"]
    ds = emulator.dataset_id("ds1")
    lock = f"labelsync-lock: host={socket.gethostname()} pid=999999 run=deadbeef beat=7 digest={digest}"
    emulator.http.post(f"datasets/{ds}/drafts", json={"branchName": "main", "title": "labelsync apply dead", "description": lock})
    race_two_applies(repo)
    items = emulator.items("ds1")
    expected = {"seed.bin": sha1(content(9999)), **{p: sha1(d) for p, d in files.items()}}
    assert {p: items[p]["checksum"] for p in items} == expected
    assert len(emulator.commits("ds1")) == 2
    assert plan(repo, "--detailed-exitcode").code == 0


def test_a_branch_that_moved_between_plan_and_lock_is_refused_and_the_draft_closed(tmp_path: Path, emulator: Remote) -> None:
    """The stale check is made once, in the session's open, holding the draft: that closes
    the window in which another apply commits between the plan and the lock."""
    from labelsync.engine.apply import apply_dataset
    from labelsync.errors import StalePlanError
    from labelsync.plan.serialize import loads_plan
    from labelsync.providers.session import ApplyOptions, NullEvents
    from labelsync.providers.tensorbay.client import TensorBayClient
    from labelsync.providers.tensorbay.provider import TensorBayProvider

    repo = write_repo(tmp_path / "repo", emulator.url, {"a.jpg": content(1)})
    assert apply(repo).code == 0
    (repo / "data" / "a.jpg").write_bytes(content(2))
    assert run_cli(["plan", ".", "-o", "plan.json"], repo, TOKEN).code == 0
    saved = loads_plan((repo / "plan.json").read_text())
    other = write_repo(tmp_path / "other", emulator.url, {"a.jpg": content(3)})
    assert apply(other).code == 0  # another apply commits after this plan, before its lock
    client = TensorBayClient(emulator.url, TOKEN)
    try:
        provider = TensorBayProvider(client)
        options = ApplyOptions(root=repo)
        with pytest.raises(StalePlanError, match="moved from"):
            apply_dataset(provider.session(saved.datasets[0], options, NullEvents()), saved.datasets[0], options, NullEvents())
        dataset_id = emulator.dataset_id("ds1")
        assert client.open_drafts(dataset_id, "main") == []  # its fresh draft was closed
    finally:
        client.close()
    assert len(emulator.commits("ds1")) == 2
