"""``labelsync status`` and ``labelsync pull`` as a user runs them (a real process), both providers."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from labelsync.emulator.runtime import EmbeddedServer
from labelsync.emulator.tensorbay import create_app as tensorbay_app
from tests.providers.deepen.conftest import PNG, TOKEN, TOKEN_ENV, Emulator, box, write_repo
from tests.providers.deepen.conftest import emulator as emulator  # noqa: F401 - the fixture
from tests.support import repo as tb_repo
from tests.support.repo import run_cli
from tests.support.tensorbay import TOKEN as TB_TOKEN


def cli(args: list[str], root: Path) -> tb_repo.Result:
    return run_cli(args, root, "unused", extra_env={TOKEN_ENV: TOKEN})


def dataset_id(emulator: Emulator, name: str) -> str:
    body = emulator.admin.get("/api/v2/clients/client-7/datasets_ids", headers={"Authorization": f"Bearer {TOKEN}"}).json()
    return str(next(d["dataset_id"] for d in body["datasets"] if d["dataset_name"] == name))


def test_deepen_status_and_pull(emulator: Emulator, tmp_path: Path) -> None:  # noqa: F811
    root = write_repo(tmp_path / "repo", emulator.api, {"a.png": PNG + b"a", "b.png": PNG + b"b"}, labels={"a.png": box()})
    missing = cli(["status"], root)
    assert missing.code == 0, missing.text
    assert "signs (deepen, remote dp): not on the remote" in missing.out
    applied = cli(["apply", "--auto-approve"], root)
    assert applied.code == 0, applied.text

    ready = cli(["status"], root)
    assert ready.code == 0, ready.text
    assert "in sync with the manifest" in ready.out
    assert "processing: files_getting_labelled" in ready.out
    assert "stage: Labelling ready; 0 of 2 files through every stage" in ready.out
    assert "Labelling: done 0, failed 0, in_progress 0, ready 2, waiting 0" in ready.out

    ident = dataset_id(emulator, "signs")
    emulator.post(f"/_admin/datasets/{ident}/files/b.png/labels",
                  {"labels": [{"label_type": "box", "label_category_id": "car", "box": [5, 5, 2, 3]}]})  # fmt: skip
    emulator.post(f"/_admin/datasets/{ident}/workforce", {"action": "start", "file_ids": ["b.png"]})
    during = cli(["status", "--format", "json"], root)
    assert during.code == 0, during.text
    [entry] = json.loads(during.out)["datasets"]
    assert entry["current_stage_status"] == "in_progress"
    assert entry["stages"]["Labelling"]["in_progress"] == 1
    # the workforce labelled b.png, which the manifest's label file does not have yet
    assert entry["in_sync"] is False and entry["changes"] == 1

    emulator.post(f"/_admin/datasets/{ident}/complete")
    done = cli(["status"], root)
    assert "stage: Labelling done; 2 of 2 files through every stage" in done.out

    label_file = root / "labels.jsonl"
    first = cli(["pull"], root)
    assert first.code == 0, first.text
    assert "1 label file updated, 0 unchanged." in first.out
    lines = [json.loads(line) for line in label_file.read_text().splitlines()]
    assert lines == [
        {"label": box(), "remotePath": "a.png"},
        {"label": {"BOX2D": [{"box2d": {"xmin": 5, "xmax": 7, "ymin": 5, "ymax": 8}, "category": "car"}]}, "remotePath": "b.png"},
    ]
    before = (label_file.read_bytes(), label_file.stat().st_mtime_ns, label_file.stat().st_ino)
    second = cli(["pull"], root)
    assert second.code == 0, second.text
    assert "0 label files updated, 1 unchanged." in second.out
    assert (label_file.read_bytes(), label_file.stat().st_mtime_ns, label_file.stat().st_ino) == before
    # the pulled labels are now local; the plan pushes nothing back
    replan = cli(["plan", "--detailed-exitcode"], root)
    assert replan.code == 0, replan.text
    [entry] = json.loads(cli(["status", "--format", "json"], root).out)["datasets"]
    assert entry["in_sync"] is True


def test_status_error_is_one_line_and_exit_1(emulator: Emulator, tmp_path: Path) -> None:  # noqa: F811
    root = write_repo(tmp_path / "repo", emulator.api, {"a.png": PNG})
    result = run_cli(["status"], root, "unused", extra_env={TOKEN_ENV: "wrong-token-value"})
    assert result.code == 1
    assert result.out == ""
    errors = [line for line in result.err.splitlines() if line.startswith("Error:")]
    assert errors == ["Error: signs (deepen, remote dp): find dataset 'signs': HTTP 401: Invalid token."], result.text
    assert "Hint: check the token in $" in result.err
    assert "Traceback" not in result.text and "wrong-token-value" not in result.text
    as_json = run_cli(["status", "--format", "json"], root, "unused", extra_env={TOKEN_ENV: "wrong-token-value"})
    assert as_json.code == 1, as_json.text
    [entry] = json.loads(as_json.out)["datasets"]
    assert entry["error"] == "find dataset 'signs': HTTP 401: Invalid token."
    assert [line for line in as_json.err.splitlines() if line.startswith("Error:")] == errors


@pytest.fixture
def tensorbay(tmp_path: Path) -> Iterator[str]:
    with EmbeddedServer(tensorbay_app(tmp_path / "tb-state", tokens=[TB_TOKEN])) as server:
        yield server.url


def test_tensorbay_status_and_pull(tensorbay: str, tmp_path: Path) -> None:
    root = tb_repo.write_repo(tmp_path / "repo", tensorbay, {"a.jpg": b"a", "b.jpg": b"b"}, labels={"a.jpg": tb_repo.box()})
    assert run_cli(["apply", "--auto-approve"], root, TB_TOKEN).code == 0
    status = run_cli(["status"], root, TB_TOKEN)
    assert status.code == 0, status.text
    assert "ds1 (tensorbay, remote default): branch main at" in status.out
    assert "in sync with the manifest" in status.out and "no open drafts" in status.out
    label_file = root / "labels.jsonl"
    label_file.write_text("")  # lost locally: pull brings it back
    first = run_cli(["pull"], root, TB_TOKEN)
    assert "1 label file updated, 0 unchanged." in first.out, first.text
    assert json.loads(label_file.read_text()) == {"label": tb_repo.box(), "remotePath": "a.jpg"}
    second = run_cli(["pull"], root, TB_TOKEN)
    assert "0 label files updated, 1 unchanged." in second.out


def test_pull_keeps_local_labels_of_unapplied_files_and_refuses_a_broken_file(tensorbay: str, tmp_path: Path) -> None:
    root = tb_repo.write_repo(tmp_path / "repo", tensorbay, {"a.jpg": b"a", "b.jpg": b"b"}, labels={"a.jpg": tb_repo.box()})
    assert run_cli(["apply", "--auto-approve"], root, TB_TOKEN).code == 0
    (root / "data" / "new.jpg").write_bytes(b"new, not applied yet")
    label_file = root / "labels.jsonl"
    lines = [
        {"remotePath": "a.jpg", "label": tb_repo.box("bus")},  # edited locally, the remote still has "car"
        {"remotePath": "b.jpg", "label": tb_repo.box()},  # labelled locally, the remote has no label
        {"remotePath": "new.jpg", "label": tb_repo.box()},  # a file the remote does not hold
    ]
    label_file.write_text("".join(json.dumps(line) + "\n" for line in lines))
    result = run_cli(["pull"], root, TB_TOKEN)
    assert result.code == 0, result.text
    pulled = {json.loads(line)["remotePath"]: json.loads(line)["label"] for line in label_file.read_text().splitlines()}
    assert pulled == {"a.jpg": tb_repo.box(), "new.jpg": tb_repo.box()}

    label_file.write_text('{"remotePath": "a.jpg", "label": \n')
    broken = run_cli(["pull"], root, TB_TOKEN)
    assert broken.code == 1 and "Traceback" not in broken.err
    assert "labels.jsonl:1" in broken.err
    assert label_file.read_text() == '{"remotePath": "a.jpg", "label": \n'
