"""Path safety: declared paths stay inside the repository."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from labelsync.errors import LocalDataError
from labelsync.local.paths import check_declared, is_inside, resolve_inside


@pytest.fixture()
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    (root / "manifests").mkdir(parents=True)
    (root / "data" / "day").mkdir(parents=True)
    (tmp_path / "outside").mkdir()
    return root


def test_relative_path_inside_resolves(repo: Path) -> None:
    assert resolve_inside(repo, repo / "manifests", "../data/day") == (repo / "data" / "day").resolve()


def test_dotdot_that_stays_inside_is_fine(repo: Path) -> None:
    assert resolve_inside(repo, repo, "data/../data/day") == (repo / "data" / "day").resolve()


@pytest.mark.parametrize(
    ("declared", "message"),
    [
        ("/etc/passwd", "path '/etc/passwd' is absolute"),
        ("../../outside", "path '../../outside' climbs out of the repository with '..'"),
        ("../../repo/../outside", "path '../../repo/../outside' climbs out of the repository with '..'"),
        ("", "path '' is empty"),
    ],
)
def test_escapes_raise_one_line(repo: Path, declared: str, message: str) -> None:
    with pytest.raises(LocalDataError) as err:
        resolve_inside(repo, repo / "manifests", declared)
    assert str(err.value) == message
    assert err.value.hint
    assert "\n" not in str(err.value)


def test_directory_symlink_out_is_refused(repo: Path, tmp_path: Path) -> None:
    os.symlink(tmp_path / "outside", repo / "data" / "link")
    with pytest.raises(LocalDataError, match="symlink .* points outside the repository"):
        resolve_inside(repo, repo, "data/link")
    # and a path *through* the symlinked directory
    with pytest.raises(LocalDataError, match="symlink"):
        resolve_inside(repo, repo, "data/link/x.jpg")


def test_file_symlink_out_is_refused(repo: Path, tmp_path: Path) -> None:
    (tmp_path / "outside" / "secret.txt").write_text("x")
    os.symlink(tmp_path / "outside" / "secret.txt", repo / "data" / "labels.jsonl")
    with pytest.raises(LocalDataError, match="symlink"):
        resolve_inside(repo, repo, "data/labels.jsonl")


def test_symlink_inside_is_allowed(repo: Path) -> None:
    os.symlink(repo / "data" / "day", repo / "data" / "alias")
    assert resolve_inside(repo, repo, "data/alias") == (repo / "data" / "day").resolve()
    assert is_inside(repo, repo / "data" / "alias")


def test_check_declared_returns_diagnostics(repo: Path) -> None:
    diags = check_declared(repo, repo / "manifests", "/abs", file="m.yaml", line=3, column=7, json_path="spec.x")
    assert [str(d) for d in diags] == [
        "m.yaml:3:7: path '/abs' is absolute [spec.x] (hint: write it relative to the manifest file, inside the repository)"
    ]


def test_check_declared_existence(repo: Path) -> None:
    assert check_declared(repo, repo, "data/day", file="m.yaml", must_exist="dir") == []
    [missing] = check_declared(repo, repo, "data/night", file="m.yaml", must_exist="dir")
    assert missing.message == "data directory 'data/night' does not exist"
    [notfile] = check_declared(repo, repo, "data/day", file="m.yaml", must_exist="file")
    assert notfile.message == "file 'data/day' is not a file"


def test_one_checker_for_many_paths_answers_as_realpath_does(repo: Path, tmp_path: Path) -> None:
    from labelsync.local.paths import Inside

    (repo / "data" / "day" / "a.jpg").write_bytes(b"a")
    (tmp_path / "outside" / "secret").write_bytes(b"s")
    os.symlink(tmp_path / "outside", repo / "data" / "out")  # a directory symlink leading out
    os.symlink(tmp_path / "outside" / "secret", repo / "data" / "day" / "leak.jpg")  # a file symlink out
    os.symlink(repo / "data" / "day" / "a.jpg", repo / "data" / "day" / "alias.jpg")  # a file symlink in
    os.symlink(repo / "data" / "day", repo / "data" / "today")  # a directory symlink in
    declared = [
        "data/day/a.jpg", "data/day/alias.jpg", "data/today/a.jpg", "data/today/leak.jpg", "data/day/leak.jpg",
        "data/out/secret", "data/out/../day/a.jpg", "data/today/../day/a.jpg", "data/day/missing.jpg",
        "data/nowhere/x.jpg", "data/day/", "data/day/.", "data/day/..", "data/./day/a.jpg", "../repo/data/day/a.jpg",
        "", "/etc/passwd", "../outside/secret", "data/\x00", "data/out/../../outside/secret",
    ]
    refused = {
        "data/today/leak.jpg", "data/day/leak.jpg", "data/out/secret", "data/out/../day/a.jpg", "",
        "/etc/passwd", "../outside/secret", "data/\x00", "data/out/../../outside/secret",
    }
    inside = Inside(repo, repo)
    for path in declared * 2:  # the second round answers from the remembered parents
        try:
            want: object = resolve_inside(repo, repo, path)
        except LocalDataError as exc:
            want = exc.message
        one = Inside(repo, repo)  # a fresh checker: resolve_inside's own answer
        for checker in (inside, one):
            try:
                got: object = checker.resolve(path)
            except LocalDataError as exc:
                got = exc.message
            assert got == want, path
        assert isinstance(want, str) == (path in refused), (path, want)
        if path not in refused:
            assert want == Path(os.path.realpath(repo / path)), path  # the answer realpath gives
    assert "symlink" in str(pytest.raises(LocalDataError, inside.resolve, "data/day/leak.jpg").value)
    assert "symlink" in str(pytest.raises(LocalDataError, inside.resolve, "data/out/secret").value)
