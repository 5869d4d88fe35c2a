"""The embedded local remote's own state failing: a corrupt database, the database replaced by
a directory, a full disk. Each ends in one ``Error:`` line with exit 1 (never a ``sqlite3``
traceback, never exit 3) and leaves the repository's files as they were.

The CLI runs in-process, so the full disk is simulated inside the emulator it starts: a
transaction that wrote anything fails at commit with SQLite's own error for ``SQLITE_FULL``,
``sqlite3.OperationalError: database or disk is full`` (and is rolled back); reads still work.
"""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from labelsync.emulator.deepen import store as deepen_store
from labelsync.emulator.tensorbay import db as tensorbay_db
from tests.support.inproc import run, snapshot

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
CASES = {"tensorbay": ("quickstart", "tensorbay.sqlite3"), "deepen": ("deepen-images", "deepen.sqlite3")}


def one_error(code: int, text: str) -> str:
    errors = [line for line in text.splitlines() if line.startswith("Error:")]
    assert code == 1, text
    assert "Traceback" not in text and "sqlite3." not in text, text
    assert len(errors) == 1, text
    return errors[0]


@pytest.fixture(autouse=True)
def env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    monkeypatch.setenv("LABELSYNC_HTTP_RETRIES", "0")
    for name in [k for k in __import__("os").environ if k.startswith("LABELSYNC_REMOTE_")]:
        monkeypatch.delenv(name)


def example(tmp_path: Path, provider: str) -> tuple[Path, Path]:
    name, db = CASES[provider]
    repo = tmp_path / name
    shutil.copytree(EXAMPLES / name, repo)
    return repo, repo / ".labelsync" / "local" / provider / db


def _break(db: Path, how: str) -> None:
    for extra in db.parent.glob(db.name + "-*"):
        extra.unlink()
    db.unlink()
    if how == "corrupt":
        db.write_bytes(b"this is not a database\n" * 100)
    else:
        db.mkdir()


@pytest.mark.parametrize("how", ["corrupt", "directory"])
@pytest.mark.parametrize("provider", sorted(CASES))
def test_unusable_local_database_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str], provider: str, how: str) -> None:
    repo, db = example(tmp_path, provider)
    code, text = run(["plan", str(repo)], capsys)
    assert code == 0, text
    assert db.is_file()
    _break(db, how)
    before = snapshot(repo)
    for command in (["plan", str(repo)], ["status", str(repo)], ["apply", str(repo), "--auto-approve"]):
        code, text = run(command, capsys)
        line = one_error(code, text)
        assert "local remote's state cannot be used" in line and str(db.parent) in line, text
        assert "Hint: " in text and "move" in text, text
    assert snapshot(repo) == before


def _full_disk(cls: Any, name: str) -> Callable[..., Any]:
    original = getattr(cls, name)

    @contextmanager
    def transaction(self: Any) -> Iterator[sqlite3.Connection]:
        with original(self) as conn:
            before = conn.total_changes
            yield conn
            if conn.total_changes != before:
                raise sqlite3.OperationalError("database or disk is full")

    return transaction


@pytest.mark.parametrize("provider", sorted(CASES))
def test_full_disk_under_the_local_remote_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, provider: str
) -> None:
    repo, _db = example(tmp_path, provider)
    if provider == "tensorbay":
        monkeypatch.setattr(tensorbay_db.Database, "transaction", _full_disk(tensorbay_db.Database, "transaction"))
    else:
        monkeypatch.setattr(deepen_store.Store, "_tx", _full_disk(deepen_store.Store, "_tx"))
    before = snapshot(repo)
    code, text = run(["apply", str(repo), "--auto-approve"], capsys)
    line = one_error(code, text)
    assert "HTTP 507" in line and "database or disk is full" in line, text
    assert "Hint: " in text and "disk space" in text, text
    assert snapshot(repo) == before
