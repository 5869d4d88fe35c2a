"""How ``labelsync validate`` finds manifests: ``.labelsyncignore`` and ``.gitignore`` prune the search."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.repo import Result as Run

from .conftest import REPO

GOOD = "apiVersion: labelsync/v1\nkind: Dataset\nmetadata: {name: good}\n"
BAD = "apiVersion: labelsync/v1\nkind: Dataset\nmetadata: {name: bad}\nspec:\n  prnue: true\n"


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A repository with one valid manifest and a broken one under ``fixtures/``."""
    (tmp_path / "labelsync.yaml").write_text("remotes: {}\n")
    (tmp_path / "good.yaml").write_text(GOOD)
    (tmp_path / "fixtures" / "broken").mkdir(parents=True)
    (tmp_path / "fixtures" / "broken" / "bad.yaml").write_text(BAD)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_without_an_ignore_file_the_search_reads_everything(repo: Path, cli: Callable[..., Run]) -> None:
    result = cli("validate")
    assert result.code == 1
    assert "fixtures/broken/bad.yaml:5:3: unknown field 'prnue'" in result.text


def test_labelsyncignore_skips_a_directory(repo: Path, cli: Callable[..., Run]) -> None:
    (repo / ".labelsyncignore").write_text("# broken on purpose\nfixtures/\n")
    result = cli("validate")
    assert (result.code, result.out, result.err) == (0, "1 manifest in 1 file(s) valid\n", "")


def test_labelsyncignore_patterns_are_relative_to_the_root_not_the_working_directory(
    repo: Path, cli: Callable[..., Run], monkeypatch: pytest.MonkeyPatch
) -> None:
    (repo / ".labelsyncignore").write_text("/fixtures/broken/\n")
    monkeypatch.chdir(repo / "fixtures")
    result = cli("validate", ".", str(repo / "good.yaml"))
    assert result.code == 1  # 'fixtures' alone is not ignored, but nothing else is found in it
    assert "no manifest (*.yaml, *.yml) found in this directory (1 path(s) excluded" in result.text
    assert "bad.yaml" not in result.text


def test_gitignore_is_honoured(repo: Path, cli: Callable[..., Run]) -> None:
    (repo / ".gitignore").write_text("*.pyc\nbad.yaml\n")
    assert cli("validate").code == 0


def test_labelsyncignore_can_re_include_what_gitignore_excludes(repo: Path, cli: Callable[..., Run]) -> None:
    (repo / ".gitignore").write_text("bad.yaml\n")
    (repo / ".labelsyncignore").write_text("!bad.yaml\n")
    assert cli("validate").code == 1


def test_a_file_named_explicitly_is_read_even_when_ignored(repo: Path, cli: Callable[..., Run]) -> None:
    (repo / ".labelsyncignore").write_text("fixtures/\n")
    result = cli("validate", "fixtures/broken/bad.yaml")
    assert result.code == 1
    assert "fixtures/broken/bad.yaml:5:3: unknown field 'prnue'" in result.text


def test_a_directory_named_explicitly_is_searched_even_when_ignored(repo: Path, cli: Callable[..., Run]) -> None:
    (repo / ".labelsyncignore").write_text("fixtures/\n")
    result = cli("validate", "fixtures/broken")
    assert result.code == 1
    assert "fixtures/broken/bad.yaml:5:3: unknown field 'prnue'" in result.text


def test_an_invalid_pattern_is_a_warning_at_its_line(repo: Path, cli: Callable[..., Run]) -> None:
    (repo / ".labelsyncignore").write_text("fixtures/\n!\n")
    result = cli("validate")
    assert result.code == 0
    assert result.err.splitlines() == [".labelsyncignore:2:1: '!' is not a valid gitignore pattern; not used "
                                       "(hint: see gitignore(5) for the syntax)"]


def test_bare_validate_at_this_repository_root_finds_no_problem(
    cli: Callable[..., Run], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(REPO)
    result = cli("validate")
    assert result.code == 0, result.text
    assert "valid" in result.out
    assert "tests/" not in result.text


def _segment_manifest(data_path: str) -> str:
    return GOOD + f"spec:\n  remote: default\n  segments:\n    - name: train\n      data: {{path: {data_path}}}\n"


def test_the_search_does_not_descend_into_a_declared_data_directory(repo: Path, cli: Callable[..., Run]) -> None:
    (repo / "fixtures").rename(repo / "images")  # bad.yaml now lies in the data tree images/broken/
    (repo / "good.yaml").write_text(_segment_manifest("images"))
    (repo / "other").mkdir()
    (repo / "other" / "bad.yaml").write_text(BAD)
    result = cli("validate", "--no-local")
    assert "other/bad.yaml:5:3: unknown field 'prnue'" in result.text  # a sibling directory is searched
    assert "images/" not in result.text
    named = cli("validate", "--no-local", "images")  # a data directory named explicitly is searched
    assert "images/broken/bad.yaml:5:3: unknown field 'prnue'" in named.text


def test_a_data_path_at_the_manifests_own_directory_prunes_nothing(repo: Path, cli: Callable[..., Run]) -> None:
    (repo / "good.yaml").write_text(_segment_manifest("."))
    result = cli("validate", "--no-local")
    assert "fixtures/broken/bad.yaml:5:3: unknown field 'prnue'" in result.text
