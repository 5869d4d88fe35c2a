"""``labelsync init``: labelsync.yaml from a template, ``.labelsync/`` in .gitignore; idempotent, never clobbers."""

from __future__ import annotations

import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from labelsync.cli import main
from labelsync.cli.init import STATE_COMMENT, _ignores_state
from labelsync.manifest.remotes import BUILTIN_REMOTES, read_remotes

REPO = Path(__file__).resolve().parents[2]
ADDED = f"{STATE_COMMENT}\n.labelsync/\n"


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    with pytest.raises(SystemExit) as exc:
        main(list(args))
    out = capsys.readouterr()
    return int(exc.value.code or 0), out.out, out.err


@pytest.fixture
def empty(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path.parent))
    return tmp_path


def _leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.endswith(".tmp"))


def test_creates_both_files_and_says_so(empty: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(capsys, "init")
    assert (code, err) == (0, "")
    assert out.splitlines() == [
        "created labelsync.yaml: no remotes of its own yet; comments explain the built-in default, tensorbay, deepen "
        "and how to add one",
        "created .gitignore: with .labelsync/ (the embedded emulator's database and key, caches)",
    ]
    assert (empty / ".gitignore").read_text() == ADDED
    assert _leftovers(empty) == []


def test_the_template_is_a_valid_labelsync_yaml_that_explains_the_builtins(
    empty: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _run(capsys, "init")
    remotes, diags = read_remotes(empty, environ={})
    assert (remotes, diags) == (BUILTIN_REMOTES, [])
    text = (empty / "labelsync.yaml").read_text()
    for name in BUILTIN_REMOTES:
        assert f"#   {name} " in text
    assert "Never write a token" in text


def test_a_second_run_changes_nothing(empty: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _run(capsys, "init")
    before = {p.name: p.read_bytes() for p in empty.iterdir()}
    code, out, _ = _run(capsys, "init")
    assert code == 0
    assert out.splitlines() == [
        "kept labelsync.yaml: it exists; not changed",
        "kept .gitignore: .labelsync/ is already ignored",
    ]
    assert {p.name: p.read_bytes() for p in empty.iterdir()} == before


def test_an_existing_labelsync_yaml_is_never_replaced(empty: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (empty / "labelsync.yaml").write_text("remotes: {prod: {provider: tensorbay, url: 'https://x/'}}\n")
    code, out, _ = _run(capsys, "init")
    assert code == 0 and "kept labelsync.yaml: it exists; not changed" in out
    assert (empty / "labelsync.yaml").read_text() == "remotes: {prod: {provider: tensorbay, url: 'https://x/'}}\n"


@pytest.mark.parametrize(
    ("before", "after"),
    [
        (b"node_modules/", b"node_modules/\n" + ADDED.encode()),
        (b"*.pyc\n", b"*.pyc\n" + ADDED.encode()),
        (b"*.pyc\r\nbuild/\r\n", b"*.pyc\r\nbuild/\r\n" + ADDED.replace("\n", "\r\n").encode()),
        (b"# caf\xe9 (latin-1)\n", b"# caf\xe9 (latin-1)\n" + ADDED.encode()),
        (b"", ADDED.encode()),
        (b"!.labelsync/\n", b"!.labelsync/\n" + ADDED.encode()),  # re-included: ignore it again
    ],
)
def test_an_existing_gitignore_keeps_every_byte_and_gets_the_line(
    empty: Path, capsys: pytest.CaptureFixture[str], before: bytes, after: bytes
) -> None:
    (empty / ".gitignore").write_bytes(before)
    code, out, _ = _run(capsys, "init")
    assert code == 0
    assert "updated .gitignore: added .labelsync/" in out
    assert (empty / ".gitignore").read_bytes() == after
    assert _run(capsys, "init")[1].splitlines()[-1] == "kept .gitignore: .labelsync/ is already ignored"
    assert (empty / ".gitignore").read_bytes() == after


@pytest.mark.parametrize("pattern", [".labelsync", "/.labelsync/", ".labelsync/", ".*", "/.labelsync"])
def test_a_gitignore_that_already_ignores_the_state_is_left_alone(
    empty: Path, capsys: pytest.CaptureFixture[str], pattern: str
) -> None:
    (empty / ".gitignore").write_text(f"build/\n{pattern}\n")
    code, out, _ = _run(capsys, "init")
    assert code == 0 and "kept .gitignore: .labelsync/ is already ignored" in out
    assert (empty / ".gitignore").read_text() == f"build/\n{pattern}\n"


def test_the_gitignore_keeps_its_permissions(empty: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (empty / ".gitignore").write_text("build/\n")
    (empty / ".gitignore").chmod(0o640)
    _run(capsys, "init")
    assert stat.S_IMODE((empty / ".gitignore").stat().st_mode) == 0o640


def test_a_symlinked_gitignore_is_updated_at_its_target(empty: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (empty / "shared.gitignore").write_text("build/\n")
    (empty / ".gitignore").symlink_to("shared.gitignore")
    _run(capsys, "init")
    assert (empty / ".gitignore").is_symlink()
    assert (empty / "shared.gitignore").read_text() == "build/\n" + ADDED


def test_a_gitignore_that_is_a_directory_is_one_error_line(empty: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (empty / ".gitignore").mkdir()
    code, _, err = _run(capsys, "init")
    assert code == 1
    assert "Traceback" not in err
    assert err.splitlines()[0].startswith("Error: cannot read .gitignore: ")
    assert err.splitlines()[1].startswith("Hint: ")


def test_directory_argument_names_the_root(empty: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (empty / "repo").mkdir()
    code, out, _ = _run(capsys, "init", "repo")
    assert code == 0
    assert "created repo/labelsync.yaml" in out
    assert (empty / "repo" / ".gitignore").read_text() == ADDED
    assert not (empty / "labelsync.yaml").exists()


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_from_a_subdirectory_init_works_at_the_git_top_level(
    empty: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    subprocess.run(["git", "init", "-q"], cwd=empty, check=True)
    (empty / "datasets").mkdir()
    monkeypatch.chdir(empty / "datasets")
    assert _run(capsys, "init")[0] == 0
    assert (empty / "labelsync.yaml").is_file() and (empty / ".gitignore").read_text() == ADDED
    assert sorted(p.name for p in (empty / "datasets").iterdir()) == []


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_tracked_state_gets_a_note_with_the_fix(empty: Path, capsys: pytest.CaptureFixture[str]) -> None:
    subprocess.run(["git", "init", "-q"], cwd=empty, check=True)
    (empty / ".labelsync").mkdir()
    (empty / ".labelsync" / "key").write_text("k")
    subprocess.run(["git", "add", "-f", ".labelsync"], cwd=empty, check=True)
    out = _run(capsys, "init")[1]
    assert out.splitlines()[-1] == (
        "note: git still tracks 1 file(s) under .labelsync/; untrack them with: git rm -r --cached .labelsync"
    )


def test_this_repository_ignores_its_state() -> None:
    assert _ignores_state((REPO / ".gitignore").read_text())
