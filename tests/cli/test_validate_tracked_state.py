"""``labelsync validate`` warns when git tracks ``.labelsync/`` (the emulator's database and key, caches)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from labelsync.cli import main

GOOD = "apiVersion: labelsync/v1\nkind: Dataset\nmetadata: {name: x}\n"
BAD = GOOD + "spec:\n  prnue: true\n"
WARNING = (
    ".labelsync:0:0: 2 file(s) under .labelsync/ are tracked by git; they are this machine's state "
    "(the embedded emulator's database and signing key, and caches) and must not be committed "
    "(hint: untrack them and ignore the directory: git rm -r --cached .labelsync && labelsync init)"
)

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="needs git")


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    with pytest.raises(SystemExit) as exc:
        main(list(args))
    out = capsys.readouterr()
    return int(exc.value.code or 0), out.out, out.err


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A git repository with one valid manifest and state files under ``.labelsync/``."""
    (tmp_path / "labelsync.yaml").write_text("remotes: {}\n")
    (tmp_path / "m.yaml").write_text(GOOD)
    state = tmp_path / ".labelsync" / "local" / "tensorbay"
    state.mkdir(parents=True)
    (state / "tensorbay.sqlite3").write_bytes(b"db")
    (state / "signing.key").write_bytes(b"key")
    _git(tmp_path, "init", "-q")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_no_warning_while_the_state_is_untracked(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(capsys, "validate") == (0, "1 manifest in 1 file(s) valid\n", "")


def test_tracked_state_is_a_warning_with_the_fix_and_exit_0(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _git(repo, "add", "-f", ".labelsync")
    code, out, err = _run(capsys, "validate")
    assert (code, out, err.splitlines()) == (0, "1 manifest in 1 file(s) valid\n", [WARNING])


def test_the_warning_leaves_an_error_exit_as_it_is(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _git(repo, "add", "-f", ".labelsync")
    (repo / "m.yaml").write_text(BAD)
    code, _, err = _run(capsys, "validate")
    assert code == 1
    assert WARNING in err.splitlines()
    assert "Error: 1 problem found in 1 file(s)" in err.splitlines()


def test_json_carries_the_warning(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _git(repo, "add", "-f", ".labelsync")
    code, out, _ = _run(capsys, "validate", "--format", "json")
    body = json.loads(out)
    assert (code, body["valid"]) == (0, True)
    assert [(d["file"], d["severity"]) for d in body["diagnostics"]] == [(".labelsync", "warning")]


def test_not_a_git_repository_gives_no_warning(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "labelsync.yaml").write_text("remotes: {}\n")
    (tmp_path / "m.yaml").write_text(GOOD)
    (tmp_path / ".labelsync").mkdir()
    (tmp_path / ".labelsync" / "x").write_text("x")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path.parent))
    assert _run(capsys, "validate") == (0, "1 manifest in 1 file(s) valid\n", "")


def test_without_git_on_path_no_warning(repo: Path, monkeypatch: pytest.MonkeyPatch,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    _git(repo, "add", "-f", ".labelsync")
    monkeypatch.setenv("PATH", str(repo / "no-bin"))
    assert _run(capsys, "validate") == (0, "1 manifest in 1 file(s) valid\n", "")
