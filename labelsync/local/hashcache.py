"""Content identity of local files: SHA-1 of the bytes, cached so an unchanged tree is never re-read.

The cache lives in ``<root>/.labelsync/cache/hashes.sqlite``, one row per file path (relative
to the repository root when inside it), and a row is trusted only while the file's
``(size, mtime_ns, inode, ctime_ns)`` are those recorded with it.

Contract of :meth:`HashCache.digest_all`:

* returns one :class:`~labelsync.state.Blob` per input file, in input order, whose
  ``checksum`` is the SHA-1 hex digest (the TensorBay checksum) of the bytes and ``size`` the
  number of bytes hashed;
* reads the cache in bulk (one query per :class:`HashCache` instance, kept in memory after),
  hashes only the misses with :func:`labelsync.local.hashing.hash_files` (one open and,
  for a small file, one read each, no ``stat``; on ``min(jobs, CPUs)`` threads when there
  are enough of them), and writes the new rows in one transaction
  (``executemany``);
* "racily clean" entries are not trusted: a row whose ``mtime_ns`` is within
  :data:`RACY_WINDOW_NS` of the moment it was hashed may describe a file that was written
  again within the file system's timestamp granularity, so it is hashed once more (as git
  does with its index). Files older than that are hashed once and then only stat'ed;
* a file that changed between the scan and the read is hashed as read; it is not cached
  when the bytes read differ from the scanned size. A same-size rewrite after the scan is
  cached under the scan's stat, which no later scan sees again: the rewrite moved the
  file's ``ctime`` (no program can set it back), or, within the timestamp granularity, left
  an ``mtime`` inside the racy window, which is never trusted. So no extra ``fstat`` per
  file is needed;
  a file that disappeared raises :class:`LocalDataError`;
* the cache is an optimisation and never fatal: two processes may use it at once (WAL
  journal, busy timeout; a write that still finds the database locked is skipped), and a
  corrupt or unreadable cache file is deleted and rebuilt (or, if the directory is not
  writable, an in-memory cache is used for this run).

The same database remembers one desired-state digest per dataset (:meth:`HashCache.recall`,
:meth:`HashCache.remember`), keyed by a fingerprint of everything the digest was computed
from (see :func:`labelsync.desired.resolve_dataset`), so a no-op plan of an unchanged tree
need not look up every file.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from labelsync.local.hashing import hash_files
from labelsync.local.scan import LocalFile
from labelsync.state import Blob

CACHE_RELPATH = os.path.join(".labelsync", "cache", "hashes.sqlite")
RACY_WINDOW_NS = 2_000_000_000
SCHEMA_VERSION = 3

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS hashes (
    path TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    inode INTEGER NOT NULL,
    ctime_ns INTEGER NOT NULL,
    sha1 TEXT NOT NULL,
    hashed_ns INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS digests (
    slot TEXT PRIMARY KEY,
    inputs TEXT NOT NULL,
    digest TEXT NOT NULL
) WITHOUT ROWID;
"""


@dataclass(slots=True)
class CacheStats:
    """What the last :meth:`HashCache.digest_all` did (for benchmarks and ``--verbose``)."""

    files: int = 0
    hits: int = 0
    hashed: int = 0
    bytes_hashed: int = 0
    rebuilt: bool = False


class HashCache:
    """SHA-1 digests of local files, cached in SQLite under ``root`` (see the module docstring).

    Not thread-safe itself (use one instance per thread); safe across processes.
    """

    def __init__(self, root: Path, *, path: Path | None = None) -> None:
        self.root = os.path.abspath(root)
        self._prefix = self.root.rstrip(os.sep) + os.sep
        self.db_path = str(path) if path is not None else os.path.join(self.root, CACHE_RELPATH)
        self.stats = CacheStats()
        self._rows: dict[str, str] | None = None
        """Trusted rows only: ``"path\0size\0mtime_ns\0inode\0ctime_ns"`` -> SHA-1 hex."""
        self._conn: sqlite3.Connection | None = None
        self._rebuilt = False

    # -- connection ---------------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        if self._conn is not None:
            return self._conn
        try:
            self._conn = self._open(self.db_path)
        except sqlite3.DatabaseError:
            self._conn = self._rebuild()
        except OSError:
            self._conn = self._open(":memory:")
        return self._conn

    @staticmethod
    def _open(db_path: str) -> sqlite3.Connection:
        if db_path != ":memory:":
            os.makedirs(os.path.dirname(db_path), exist_ok=True)
        conn = sqlite3.connect(db_path, timeout=10.0, isolation_level=None)
        try:
            conn.execute("PRAGMA busy_timeout = 10000")
            with contextlib.suppress(sqlite3.OperationalError):  # another process may hold a lock
                conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.executescript(_SCHEMA)
            row = conn.execute("SELECT value FROM meta WHERE key = 'version'").fetchone()
            if row is None:
                conn.execute("INSERT OR IGNORE INTO meta VALUES ('version', ?)", (str(SCHEMA_VERSION),))
            elif row[0] != str(SCHEMA_VERSION):  # an older layout: start afresh
                conn.execute("DROP TABLE hashes")
                conn.execute("DROP TABLE digests")
                conn.executescript(_SCHEMA)
                conn.execute("UPDATE meta SET value = ? WHERE key = 'version'", (str(SCHEMA_VERSION),))
        except BaseException:
            conn.close()
            raise
        return conn

    def _rebuild(self) -> sqlite3.Connection:
        """Delete a corrupt cache file and start afresh (in memory if that fails too)."""
        self._rebuilt = True
        if self._conn is not None:
            with contextlib.suppress(sqlite3.Error):
                self._conn.close()
            self._conn = None
        for suffix in ("", "-wal", "-shm", "-journal"):
            with contextlib.suppress(OSError):
                os.unlink(self.db_path + suffix)
        try:
            return self._open(self.db_path)
        except (sqlite3.DatabaseError, OSError):
            return self._open(":memory:")

    def close(self) -> None:
        """Close the database connection (the in-memory rows are kept)."""
        if self._conn is not None:
            with contextlib.suppress(sqlite3.Error):
                self._conn.close()
            self._conn = None

    def __enter__(self) -> HashCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- rows ---------------------------------------------------------------------------

    def _base_key(self, path: str) -> str:
        """``path`` relative to the repository root when inside it (the cache's key)."""
        return path[len(self._prefix) :] if path.startswith(self._prefix) else path

    def _load(self) -> dict[str, str]:
        """All trusted rows in one query, keyed by path and stat (built by SQLite, in C)."""
        if self._rows is not None:
            return self._rows
        conn = self._connect()
        query = (
            "SELECT path || char(0) || size || char(0) || mtime_ns || char(0) || inode || char(0) || ctime_ns, sha1 "
            "FROM hashes WHERE mtime_ns < hashed_ns - ?"
        )
        try:
            rows = dict(conn.execute(query, (RACY_WINDOW_NS,)))
        except sqlite3.DatabaseError:
            conn = self._conn = self._rebuild()
            rows = dict(conn.execute(query, (RACY_WINDOW_NS,)))
        self._rows = rows
        return rows

    def recall(self, slot: str, inputs: str) -> str | None:
        """The digest remembered for ``slot`` when it was computed from ``inputs``; else None."""
        try:
            row = self._connect().execute("SELECT inputs, digest FROM digests WHERE slot = ?", (slot,)).fetchone()
        except sqlite3.Error:
            return None
        return str(row[1]) if row is not None and row[0] == inputs else None

    def remember(self, slot: str, inputs: str, digest: str) -> None:
        """Remember ``digest`` for ``slot`` as computed from ``inputs`` (best effort)."""
        with contextlib.suppress(sqlite3.Error):
            self._connect().execute("INSERT OR REPLACE INTO digests VALUES (?, ?, ?)", (slot, inputs, digest))

    def _store(self, new: list[tuple[str, int, int, int, int, str, int]]) -> None:
        if not new:
            return
        conn = self._connect()
        sql = "INSERT OR REPLACE INTO hashes VALUES (?, ?, ?, ?, ?, ?, ?)"
        for attempt in (1, 2):
            try:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    conn.executemany(sql, new)
                    conn.execute("COMMIT")
                except BaseException:
                    with contextlib.suppress(sqlite3.Error):
                        conn.execute("ROLLBACK")
                    raise
                return
            except sqlite3.OperationalError:
                return  # still locked by another process after the busy timeout: skip caching
            except sqlite3.DatabaseError:
                if attempt == 2:
                    return
                conn = self._conn = self._rebuild()

    # -- API ----------------------------------------------------------------------------

    def digest_all(self, files: Sequence[LocalFile], jobs: int = 4) -> list[Blob]:
        """Return the blob of every file, in order (see the module docstring for the contract)."""
        rows = self._load()
        stats = CacheStats(files=len(files), rebuilt=self._rebuilt)
        out: list[Blob | None] = [None] * len(files)
        misses: list[int] = []
        miss_keys: list[str] = []
        get = rows.get if rows else None  # an empty cache (a cold run): every file is a miss
        key_of = self._base_key
        bases: dict[str, str] = {}  # a scan's files share one base string: strip the root once
        for i, (rel, base, cut, size, mtime_ns, inode, ctime_ns) in enumerate(files):
            bk = bases.get(base)
            if bk is None:
                bk = bases[base] = key_of(base)
            k = f"{bk}{rel[cut:]}"
            sha1 = None if get is None else get(f"{k}\0{size}\0{mtime_ns}\0{inode}\0{ctime_ns}")
            if sha1 is None:
                misses.append(i)
                miss_keys.append(k)
            else:
                out[i] = Blob(sha1, size)
        stats.hits = len(files) - len(misses)
        if misses:
            hashed_ns = time.time_ns()
            todo = [files[i] for i in misses]
            results = hash_files([f[1] + f[0][f[2] :] for f in todo], [f[3] for f in todo], jobs)  # path, size
            new: list[tuple[str, int, int, int, int, str, int]] = []
            trusted_before = hashed_ns - RACY_WINDOW_NS
            for i, k, (_, _, _, scanned, mtime_ns, inode, ctime_ns), (sha1, size) in zip(
                misses, miss_keys, todo, results, strict=True
            ):
                out[i] = Blob(sha1, size)
                if size == scanned:  # else it changed since the scan: hashed as read, not cached
                    new.append((k, size, mtime_ns, inode, ctime_ns, sha1, hashed_ns))
                    if mtime_ns < trusted_before:
                        rows[f"{k}\0{size}\0{mtime_ns}\0{inode}\0{ctime_ns}"] = sha1
            stats.hashed = len(misses)
            stats.bytes_hashed = sum(size for _, size in results)
            self._store(new)
        self.stats = stats
        return out  # type: ignore[return-value]  # every slot is filled above

    def digest(self, file: LocalFile) -> Blob:
        """The blob of one file (through the cache)."""
        return self.digest_all([file], jobs=1)[0]
