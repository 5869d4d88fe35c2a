"""The emulator's SQLite state: schema, one connection, one lock, one transaction per call.

Versioned contents are keyed by ``version_id``. A *version* is the content of one draft or
one commit: catalog and notes (table ``versions``), segments, sensors, and data items
(``items``). Creating a draft copies its parent commit's version with ``INSERT ... SELECT``;
committing a draft freezes its version (the commit points at it, the draft is no longer
OPEN, so nothing writes to it again). The root commit ``"0"*32`` of each dataset is a real
row pointing at an empty version, and is hidden from listings.

``items.slot`` is the upsert key of a data item inside a segment: the ``remotePath`` for
normal datasets, ``"<frameId>\\x00<sensorName>"`` for fusion datasets, so the primary key
order is the contract's listing order (remotePath, or frameId then sensor).

Concurrency: every call takes :attr:`Database.lock` and runs in one ``BEGIN IMMEDIATE``
transaction on the single connection, so each request is atomic and serialised (e.g. the
"one OPEN draft per branch" check cannot race). Callers run it in a worker thread.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS datasets(
    id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, type INTEGER NOT NULL, alias TEXT NOT NULL,
    is_public INTEGER NOT NULL, default_branch TEXT NOT NULL, created REAL NOT NULL,
    updated REAL NOT NULL, next_draft INTEGER NOT NULL DEFAULT 1);
CREATE TABLE IF NOT EXISTS versions(
    id INTEGER PRIMARY KEY AUTOINCREMENT, dataset_id TEXT NOT NULL,
    catalog TEXT NOT NULL, notes TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS commits(
    dataset_id TEXT NOT NULL, commit_id TEXT NOT NULL, version_id INTEGER NOT NULL,
    parent_id TEXT, title TEXT NOT NULL, description TEXT NOT NULL, committer TEXT NOT NULL,
    date INTEGER NOT NULL, PRIMARY KEY(dataset_id, commit_id));
CREATE TABLE IF NOT EXISTS drafts(
    dataset_id TEXT NOT NULL, number INTEGER NOT NULL, version_id INTEGER NOT NULL,
    branch TEXT NOT NULL, status TEXT NOT NULL, title TEXT NOT NULL, description TEXT NOT NULL,
    parent_commit TEXT NOT NULL, author TEXT NOT NULL, created INTEGER NOT NULL,
    updated INTEGER NOT NULL, PRIMARY KEY(dataset_id, number));
CREATE UNIQUE INDEX IF NOT EXISTS drafts_one_open ON drafts(dataset_id, branch) WHERE status = 'OPEN';
CREATE TABLE IF NOT EXISTS branches(
    dataset_id TEXT NOT NULL, name TEXT NOT NULL, commit_id TEXT NOT NULL,
    PRIMARY KEY(dataset_id, name));
CREATE TABLE IF NOT EXISTS tags(
    dataset_id TEXT NOT NULL, name TEXT NOT NULL, commit_id TEXT NOT NULL,
    PRIMARY KEY(dataset_id, name));
CREATE TABLE IF NOT EXISTS segments(
    version_id INTEGER NOT NULL, name TEXT NOT NULL, description TEXT NOT NULL,
    PRIMARY KEY(version_id, name)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS sensors(
    version_id INTEGER NOT NULL, segment TEXT NOT NULL, name TEXT NOT NULL, body TEXT NOT NULL,
    PRIMARY KEY(version_id, segment, name)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS items(
    version_id INTEGER NOT NULL, segment TEXT NOT NULL, slot TEXT NOT NULL,
    remote_path TEXT NOT NULL, frame_id TEXT, sensor_name TEXT, checksum TEXT NOT NULL,
    file_size INTEGER NOT NULL, timestamp, label TEXT NOT NULL,
    PRIMARY KEY(version_id, segment, slot));
CREATE INDEX IF NOT EXISTS items_path ON items(version_id, segment, remote_path);
"""


class Connection(sqlite3.Connection):
    """The emulator's connection: ``memo`` holds what is derived from this database's rows
    (e.g. the ordered item slots of a segment, :func:`labelsync.emulator.tensorbay.items.list_items`),
    so it lives and dies with this database. A process-wide memo keyed by ``id(conn)`` was
    wrong: a new emulator's connection can take the address of a closed one and find the
    old database's slots."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.memo: dict[Any, Any] = {}


class Database:
    """One SQLite file, one connection, one lock (see the module docstring)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.lock = threading.Lock()
        self._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None, factory=Connection)
        self._conn.row_factory = sqlite3.Row
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.execute("PRAGMA foreign_keys=OFF")
        self._conn.execute("PRAGMA cache_size=-65536")
        self._conn.executescript(SCHEMA)

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """Hold the lock and one write transaction; commit on success, roll back on error."""
        with self.lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def close(self) -> None:
        """Close the connection (the app is unusable afterwards)."""
        with self.lock:
            self._conn.close()
