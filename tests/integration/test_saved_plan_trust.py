"""A saved plan is untrusted input (a pull request's artifact applied on merge): apply
refuses one that names files outside the repository or whose changes are not the ones its
desired digest stands for, before anything is written."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from tests.support.repo import run_cli, write_repo
from tests.support.tensorbay import TOKEN, Remote


def _edit(path: Path, edit) -> None:
    doc = json.loads(path.read_text())
    edit(doc["datasets"][0]["changes"])
    path.write_text(json.dumps(doc))


def _file_change(changes: list[dict], name: str) -> dict:
    return next(c for c in changes if c["kind"] == "file" and c["after"]["remotePath"] == name)


def test_source_outside_the_repository_with_matching_checksum_is_refused(tmp_path: Path, emulator: Remote) -> None:
    repo = write_repo(tmp_path / "repo", emulator.url, {"a.jpg": b"inside", "b.jpg": b"other"})
    outside = tmp_path / "outside.txt"
    outside.write_bytes(b"secret outside the repository")
    assert run_cli(["plan", ".", "-o", "plan.json"], repo, TOKEN).code == 0

    def point_outside(changes: list[dict]) -> None:
        after = _file_change(changes, "a.jpg")["after"]
        after["source"] = "../outside.txt"
        after["checksum"] = hashlib.sha1(outside.read_bytes()).hexdigest()
        after["fileSize"] = outside.stat().st_size
        after["send"] = [after["checksum"]]

    _edit(repo / "plan.json", point_outside)
    result = run_cli(["apply", "plan.json"], repo, TOKEN)
    assert result.code == 1, result.text
    assert "outside the repository" in result.err and "Traceback" not in result.err
    assert len([line for line in result.err.splitlines() if line.startswith("Error:")]) == 1
    assert not emulator.http.get("datasets", params={"name": "ds1"}).json()["datasets"]  # nothing was created


def test_absolute_source_is_refused(tmp_path: Path, emulator: Remote) -> None:
    repo = write_repo(tmp_path / "repo", emulator.url, {"a.jpg": b"inside"})
    assert run_cli(["plan", ".", "-o", "plan.json"], repo, TOKEN).code == 0
    _edit(repo / "plan.json", lambda changes: _file_change(changes, "a.jpg")["after"].update(source="/etc/hostname"))
    result = run_cli(["apply", "plan.json"], repo, TOKEN)
    assert result.code == 1 and "is absolute" in result.err, result.text


def test_edited_change_contents_with_the_old_digest_are_refused(tmp_path: Path, emulator: Remote) -> None:
    repo = write_repo(tmp_path / "repo", emulator.url, {"a.jpg": b"one", "b.jpg": b"two"})
    assert run_cli(["plan", ".", "-o", "plan.json"], repo, TOKEN).code == 0

    def relabel(changes: list[dict]) -> None:
        _file_change(changes, "a.jpg")["after"]["label"] = {"CLASSIFICATION": {"category": "x"}}

    _edit(repo / "plan.json", relabel)
    result = run_cli(["apply", "plan.json"], repo, TOKEN)
    assert result.code == 1, result.text
    assert "was altered" in result.err and "Traceback" not in result.err
    assert not emulator.http.get("datasets", params={"name": "ds1"}).json()["datasets"]


def test_a_dropped_change_is_refused_so_drift_cannot_hide(tmp_path: Path, emulator: Remote) -> None:
    repo = write_repo(tmp_path / "repo", emulator.url, {"a.jpg": b"one", "b.jpg": b"two"})
    assert run_cli(["plan", ".", "-o", "plan.json"], repo, TOKEN).code == 0
    _edit(repo / "plan.json", lambda changes: changes.remove(_file_change(changes, "b.jpg")))
    result = run_cli(["apply", "plan.json"], repo, TOKEN)
    assert result.code == 1 and "is missing" in result.err, result.text


def test_a_manifest_outside_the_repository_is_refused(tmp_path: Path, emulator: Remote) -> None:
    repo = write_repo(tmp_path / "repo", emulator.url, {"a.jpg": b"one"})
    assert run_cli(["plan", ".", "-o", "plan.json"], repo, TOKEN).code == 0
    doc = json.loads((repo / "plan.json").read_text())
    doc["datasets"][0]["manifest"] = "../elsewhere/dataset.yaml:1"
    (repo / "plan.json").write_text(json.dumps(doc))
    result = run_cli(["apply", "plan.json"], repo, TOKEN)
    assert result.code == 1 and "outside the repository" in result.err, result.text


def test_an_untouched_saved_plan_still_applies(tmp_path: Path, emulator: Remote) -> None:
    repo = write_repo(tmp_path / "repo", emulator.url, {"a.jpg": b"one", "b.jpg": b"one"})
    assert run_cli(["plan", ".", "-o", "plan.json"], repo, TOKEN).code == 0
    result = run_cli(["apply", "plan.json"], repo, TOKEN)
    assert result.code == 0, result.text
    assert run_cli(["plan", "."], repo, TOKEN).out.startswith("No changes")
