"""The hash cache's lookups merged with its rows in path order (no dict of every row)."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from labelsync.local.hashcache import RUN_MIN, HashCache
from labelsync.local.scan import LocalFile, scan_dir, stat_file

OLD = 1_600_000_000_000_000_000
# names whose order differs between a walk and a sort ("-" and "." sort before "/"), and
# beyond ASCII: SQLite's byte order of UTF-8 must agree with Python's order of code points
NAMES = ["a-b", "a.b", "a/b", "a/c/d", "b", "é", "é/x", "\U0001f600", "z" * 3, "Z"]


def make(root: Path, rel: str, data: bytes) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    os.utime(path, ns=(OLD, OLD))


def tree(tmp_path: Path, count: int = 3 * RUN_MIN) -> Path:
    root = tmp_path / "repo"
    for d in ("data", "data-2", "datb"):  # neighbours of data/ in the cache's path order
        for i, name in enumerate(NAMES + [f"n/{i:04}" for i in range(count)]):
            make(root / d, f"{name}.bin" if "/" not in name[-1:] else name, f"{d}:{name}:{i}".encode())
    return root


def sha1(path: Path) -> str:
    return hashlib.sha1(path.read_bytes()).hexdigest()


def test_every_digest_is_right_cold_and_warm_with_neighbouring_rows(tmp_path: Path) -> None:
    root = tree(tmp_path)
    with HashCache(root) as cache:
        for d in ("datb", "data-2", "data"):  # rows of the other directories come first
            cache.digest_all(scan_dir(root, root / d))
    with HashCache(root) as cache:
        files = scan_dir(root, root / "data")
        blobs = cache.digest_all(files)
        assert cache.stats.hits == len(files) and cache.stats.hashed == 0
        assert [b.checksum for b in blobs] == [sha1(Path(f.path)) for f in files]


def test_a_changed_file_among_cached_ones_is_a_miss(tmp_path: Path) -> None:
    root = tree(tmp_path)
    with HashCache(root) as cache:
        cache.digest_all(scan_dir(root, root / "data"))
    make(root / "data", "a.b.bin", b"new content")
    with HashCache(root) as cache:
        files = scan_dir(root, root / "data")
        blobs = cache.digest_all(files)
        assert cache.stats.hashed == 1
        k = [f.rel for f in files].index("a.b.bin")
        assert blobs[k].checksum == hashlib.sha1(b"new content").hexdigest()


def test_files_of_several_bases_in_any_order_are_looked_up(tmp_path: Path) -> None:
    root = tree(tmp_path, count=RUN_MIN + 5)
    with HashCache(root) as cache:
        cache.digest_all(scan_dir(root, root / "data"))
        cache.digest_all(scan_dir(root, root / "datb"))
    mixed: list[LocalFile] = [*scan_dir(root, root / "datb"), *reversed(list(scan_dir(root, root / "data")))]
    mixed.insert(7, stat_file(root / "data-2" / "b.bin", "b.bin"))  # one file of its own base
    with HashCache(root) as cache:
        blobs = cache.digest_all(mixed)
        assert cache.stats.hashed == 1  # only data-2/b.bin was never hashed
        assert [b.checksum for b in blobs] == [sha1(Path(f.path)) for f in mixed]


def test_a_malformed_digest_row_is_a_miss_in_a_scan_run_and_never_resizes_the_digests(tmp_path: Path) -> None:
    import sqlite3

    root = tree(tmp_path)
    with HashCache(root) as cache:
        cache.digest_all(scan_dir(root, root / "data"))
    db = root / ".labelsync" / "cache" / "hashes.sqlite"
    with sqlite3.connect(db) as conn:  # 40 characters each, but not 20 bytes of hex
        conn.execute("UPDATE hashes SET sha1 = ? WHERE path LIKE ?", ("zz" * 20, "%/n/0001.bin"))
        conn.execute("UPDATE hashes SET sha1 = ? WHERE path LIKE ?", ("ab " * 13 + "a", "%/n/0002.bin"))
        conn.execute("UPDATE hashes SET sha1 = ? WHERE path LIKE ?", (b"0" * 40, "%/n/0003.bin"))
    with HashCache(root) as cache:
        files = scan_dir(root, root / "data")
        blobs = cache.digest_all(files)
        assert cache.stats.hashed == 3
        assert [b.checksum for b in blobs] == [sha1(Path(f.path)) for f in files]
