"""Content identity of local files: SHA-1 of the bytes, cached so an unchanged tree is never re-read.

The cache lives in ``<root>/.labelsync/cache/hashes.sqlite``, one row per file path (relative
to the repository root when inside it), and a row is trusted only while the file's
``(size, mtime_ns, inode, ctime_ns)`` are those recorded with it.

Contract of :meth:`HashCache.digest_all`:

* returns one :class:`~labelsync.state.Blob` per input file, in input order, whose
  ``checksum`` is the SHA-1 hex digest (the TensorBay checksum) of the bytes and ``size`` the
  number of bytes hashed;
* a :class:`~labelsync.local.scan.ScanList` whose scan already read and hashed every file
  (a large tree the cache had no row for: :meth:`HashCache.has_none_under` as the scan's
  ``prehash``) takes those digests as they are, with the same errors and the same rows
  written (hashed at the scan's start), no lookup;
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
from array import array
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from labelsync.local import prehashed
from labelsync.local.hashing import hash_files
from labelsync.local.scan import LocalFile
from labelsync.state import Blob

CACHE_RELPATH = os.path.join(".labelsync", "cache", "hashes.sqlite")
HASH_CHUNK = 50_000
"""Misses are hashed and their rows written this many files at a time (bounded memory)."""
CALLBACK_CHUNK = 256
"""With :attr:`HashCache.on_chunk` set, misses are hashed this many files at a time, so the
callback sees digests while the rest of the tree is still being hashed."""
RUN_MIN = 64
"""Fewer sorted files than this under one base are looked up one by one, not by a merge."""
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
        self._conn: sqlite3.Connection | None = None
        self._rebuilt = False
        self.on_chunk: Callable[[list[str], bytes, list[int]], None] | None = None
        """Called from :meth:`digest_columns` (on the calling thread) with ``(paths, digests,
        sizes)`` of files whose digest is known: once with the cache hits, then after each
        hashed chunk (:data:`CALLBACK_CHUNK`); once with every file for a scan that hashed them. ``paths`` are the files' paths as scanned,
        ``digests`` 20 bytes per file. It must return quickly; what it raises propagates."""

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

    def has_none_under(self, base: str) -> bool:
        """True when the cache holds no row for a file below the directory ``base`` (a path
        ending with a separator): a scan of it may as well hash every file
        (:func:`labelsync.local.scan.scan_dir`'s ``prehash``). False when unsure."""
        bk = self._base_key(base)
        if not bk:
            return False
        rows = self._query("SELECT 1 FROM hashes WHERE path >= ? AND path < ? LIMIT 1", (bk, bk[:-1] + chr(ord(bk[-1]) + 1)))
        return next(rows, None) is None

    def _store(self, new: prehashed.Rows | Callable[[], prehashed.Rows]) -> None:
        """Write rows in one transaction; ``new`` may be a function making them (called once
        per attempt: a rebuilt cache gets every row again)."""
        if isinstance(new, list) and not new:
            return
        conn = self._connect()
        sql = "INSERT OR REPLACE INTO hashes VALUES (?, ?, ?, ?, ?, ?, ?)"
        for attempt in (1, 2):
            try:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    conn.executemany(sql, new() if callable(new) else new)
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
        sums, sizes = self.digest_columns(files, jobs)
        return [Blob(sums[20 * i : 20 * i + 20].hex(), sizes[i]) for i in range(len(files))]

    def digest_columns(self, files: Sequence[LocalFile], jobs: int = 4) -> tuple[bytearray, array[int]]:
        """:meth:`digest_all` as columns: the SHA-1 digests (20 bytes per file, in order, in one
        ``bytearray``) and the sizes hashed (``array('q')``). No per-file object outlives the call.

        Lookups merge each run of files that share a base directory and come sorted (a
        :class:`~labelsync.local.scan.ScanList`) with the cache rows under that directory,
        read in path order from SQLite (nothing is loaded into a dict); other files are looked
        up one by one. Misses are hashed and written :data:`HASH_CHUNK` files at a time.
        """
        if getattr(files, "digests", None) is not None:
            return self._take_hashed(files)
        n = len(files)
        stats = CacheStats(files=n, rebuilt=self._rebuilt)
        sums = bytearray(20 * n)
        sizes = array("q", bytes(8 * n))
        misses = array("q")
        for start, stop, bk in self._runs(files):
            self._lookup_run(files, start, stop, bk, sums, sizes, misses)
        stats.rebuilt = self._rebuilt
        stats.hits = n - len(misses)
        on_chunk = self.on_chunk
        if on_chunk is not None and stats.hits:
            missed = set(misses)
            self._report(on_chunk, files, [i for i in range(n) if i not in missed], sums, sizes)
        step = CALLBACK_CHUNK if on_chunk is not None else HASH_CHUNK
        for c in range(0, len(misses), step):
            chunk = misses[c : c + step]
            hashed_ns = time.time_ns()
            todo = [files[i] for i in chunk]
            results = hash_files([f[1] + f[0][f[2] :] for f in todo], [f[3] for f in todo], jobs, raw=True)
            new: list[tuple[str, int, int, int, int, str, int]] = []
            for i, (rel, base, cut, scanned, mtime_ns, inode, ctime_ns), (size, digest) in zip(chunk, todo, results, strict=True):
                sums[20 * i : 20 * i + 20] = digest
                sizes[i] = size
                stats.bytes_hashed += size
                if size == scanned:  # else it changed since the scan: hashed as read, not cached
                    new.append((self._base_key(base) + rel[cut:], size, mtime_ns, inode, ctime_ns, digest.hex(), hashed_ns))
            self._store(new)
            if on_chunk is not None:
                self._report(on_chunk, files, list(chunk), sums, sizes)
        stats.hashed = len(misses)
        self.stats = stats
        return sums, sizes

    def _take_hashed(self, files: Any) -> tuple[bytearray, array[int]]:
        """:meth:`digest_columns` of a scan that hashed every file (see the module docstring
        and :mod:`labelsync.local.prehashed`)."""
        sums, sizes = prehashed.columns(files)
        n = len(files)
        self._store(prehashed.rows(files, self._base_key(files.base)))
        self.stats = CacheStats(files=n, hits=0, hashed=n, bytes_hashed=sum(sizes), rebuilt=self._rebuilt)
        if self.on_chunk is not None and n:
            self._report(self.on_chunk, files, list(range(n)), sums, sizes)
        return sums, sizes

    @staticmethod
    def _report(
        on_chunk: Callable[[list[str], bytes, list[int]], None], files: Sequence[LocalFile], rows: list[int],
        sums: bytearray, sizes: array[int],
    ) -> None:
        """Hand rows ``rows`` of the columns to ``on_chunk`` (see :attr:`on_chunk`)."""
        paths = [files[i][1] + files[i][0][files[i][2] :] for i in rows]
        on_chunk(paths, b"".join(sums[20 * i : 20 * i + 20] for i in rows), [sizes[i] for i in rows])

    def _runs(self, files: Sequence[LocalFile]) -> Iterator[tuple[int, int, str | None]]:
        """``(start, stop, base key)`` of each run of files sharing a base (``cut == 0``) in
        ascending ``rel`` order; ``None`` for a file looked up alone."""
        rels = getattr(files, "rels", None)
        if rels is not None:  # a ScanList: one sorted run
            if rels:
                yield 0, len(rels), self._base_key(files.base)  # type: ignore[attr-defined]
            return
        i, n = 0, len(files)
        while i < n:
            rel, base, cut = files[i][0], files[i][1], files[i][2]
            j = i + 1
            if cut == 0:
                prev = rel
                while j < n and files[j][1] is base and files[j][2] == 0 and files[j][0] > prev:
                    prev = files[j][0]
                    j += 1
            if cut == 0 and j - i >= RUN_MIN:
                yield i, j, self._base_key(base)
            else:
                for k in range(i, j):
                    yield k, k + 1, None
            i = j

    def _lookup_run(
        self, files: Sequence[LocalFile], start: int, stop: int, bk: str | None,
        sums: bytearray, sizes: array[int], misses: array[int],
    ) -> None:
        """Fill the trusted cache hits of ``files[start:stop]``; add the others to ``misses``."""
        if bk is None:  # one file: a point lookup
            rel, base, cut, size, mtime_ns, inode, ctime_ns = files[start]
            rows = self._query(
                f"SELECT {_COLUMNS} FROM hashes WHERE path = ? AND mtime_ns < hashed_ns - ?",
                (self._base_key(base) + rel[cut:], RACY_WINDOW_NS),
            )
            row = next(rows, None)
            if row is not None and row[1:5] == (size, mtime_ns, inode, ctime_ns) and _fill(sums, sizes, start, row):
                return
            misses.append(start)
            return
        if getattr(files, "rels", None) is not None and bk:
            self._merge_columns(files, start, stop, bk, sums, sizes, misses)
            return
        where = "path >= ? AND path < ? AND " if bk else ""
        args: tuple[Any, ...] = (bk, bk[:-1] + chr(ord(bk[-1]) + 1)) if bk else ()
        rows = self._query(
            f"SELECT {_COLUMNS} FROM hashes WHERE {where}mtime_ns < hashed_ns - ? ORDER BY path", (*args, RACY_WINDOW_NS)
        )
        row = next(rows, None)
        cut = len(bk)
        for i in range(start, stop):
            rel, _, _, size, mtime_ns, inode, ctime_ns = files[i]
            # rows come in path order, the files in rel order under one base: skip rows before
            while row is not None and row[0][cut:] < rel:
                row = next(rows, None)
            if (
                row is not None and row[0][cut:] == rel and row[1:5] == (size, mtime_ns, inode, ctime_ns)
                and _fill(sums, sizes, i, row)
            ):
                continue
            misses.append(i)

    def _merge_columns(
        self, files: Any, start: int, stop: int, bk: str, sums: bytearray, sizes: array[int], misses: array[int],
    ) -> None:
        """:meth:`_lookup_run` for a :class:`~labelsync.local.scan.ScanList` run: the same
        merge, read straight from its columns (no record per file), with SQLite cutting the
        base off each path."""
        rels, fsizes, fmtimes, finodes, fctimes = files.rels, files.sizes, files.mtimes, files.inodes, files.ctimes
        rows = self._query(
            "SELECT substr(path, ?), size, mtime_ns, inode, ctime_ns, sha1 FROM hashes"
            " WHERE path >= ? AND path < ? AND mtime_ns < hashed_ns - ? ORDER BY path",
            (len(bk) + 1, bk, bk[:-1] + chr(ord(bk[-1]) + 1), RACY_WINDOW_NS),
        )
        fromhex, add_miss = bytes.fromhex, misses.append
        i = start
        rel = rels[i] if i < stop else None
        for key, size, mtime_ns, inode, ctime_ns, sha1 in rows:
            while rel is not None and rel < key:  # files with no row
                add_miss(i)
                i += 1
                rel = rels[i] if i < stop else None
            if rel is None:
                break
            if rel != key:
                continue  # a row with no file
            if (size == fsizes[i] and mtime_ns == fmtimes[i] and inode == finodes[i] and ctime_ns == fctimes[i]
                    and type(sha1) is str and len(sha1) == 40):
                try:
                    digest = fromhex(sha1)
                except ValueError:
                    digest = b""
                if len(digest) == 20:  # (fromhex skips whitespace: never resize the column)
                    sums[20 * i : 20 * i + 20] = digest
                    sizes[i] = size
                else:
                    add_miss(i)
            else:
                add_miss(i)
            i += 1
            rel = rels[i] if i < stop else None
        misses.extend(range(i, stop))

    def _query(self, sql: str, args: tuple[Any, ...]) -> Iterator[tuple[Any, ...]]:
        """The rows of ``sql``, streamed; none when the cache cannot be read (rebuilt afresh)."""
        try:
            conn = self._connect()
            cursor = conn.execute(sql, args)
            cursor.arraysize = 4096
            while True:
                batch = cursor.fetchmany()
                if not batch:
                    return
                yield from batch
        except sqlite3.DatabaseError:
            self._conn = self._rebuild()
            return

    def digest(self, file: LocalFile) -> Blob:
        """The blob of one file (through the cache)."""
        return self.digest_all([file], jobs=1)[0]


_COLUMNS = "path, size, mtime_ns, inode, ctime_ns, sha1"


def _fill(sums: bytearray, sizes: array[int], i: int, row: tuple[Any, ...]) -> bool:
    """Put a cache row's digest in row ``i`` of the columns; False when the row is malformed."""
    try:
        digest = bytes.fromhex(row[5])
    except (TypeError, ValueError):
        return False
    if len(digest) != 20:
        return False
    sums[20 * i : 20 * i + 20] = digest
    sizes[i] = row[1]
    return True
