"""The SHA-1 hash cache: correct digests, hits, invalidation, concurrency, corruption."""

from __future__ import annotations

import hashlib
import os
import sqlite3
from pathlib import Path

import pytest

from labelsync.errors import LocalDataError
from labelsync.local.hashcache import CACHE_RELPATH, HashCache
from labelsync.local.scan import LocalFile, scan_dir
from labelsync.state import Blob

OLD = 1_600_000_000_000_000_000  # an mtime long before any hashing: not "racily clean"


def write(path: Path, data: bytes, mtime_ns: int = OLD) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    os.utime(path, ns=(mtime_ns, mtime_ns))


def blob(data: bytes) -> Blob:
    return Blob(hashlib.sha1(data).hexdigest(), len(data))


@pytest.fixture()
def tree(tmp_path: Path) -> Path:
    for i in range(20):
        write(tmp_path / "data" / f"{i:02}.bin", f"file {i}".encode() * (i + 1))
    write(tmp_path / "data" / "big.bin", os.urandom(3 * (1 << 20) + 5))  # several 1 MiB reads
    return tmp_path


def files_of(root: Path) -> list[LocalFile]:
    return scan_dir(root, root / "data")


def test_digests_are_sha1_of_bytes(tree: Path) -> None:
    files = files_of(tree)
    blobs = HashCache(tree).digest_all(files, jobs=4)
    assert blobs == [blob(Path(f.path).read_bytes()) for f in files]


def test_warm_cache_reads_nothing(tree: Path) -> None:
    files = files_of(tree)
    first = HashCache(tree)
    cold = first.digest_all(files)
    first.close()
    assert first.stats.hashed == len(files)
    assert (tree / CACHE_RELPATH).is_file()
    second = HashCache(tree)
    assert second.digest_all(files) == cold
    assert (second.stats.hits, second.stats.hashed) == (len(files), 0)


def test_touch_invalidates(tree: Path) -> None:
    files = files_of(tree)
    HashCache(tree).digest_all(files)
    target = tree / "data" / "03.bin"
    os.utime(target, ns=(OLD + 1, OLD + 1))  # same bytes, new mtime: re-read once
    cache = HashCache(tree)
    cache.digest_all(files_of(tree))
    assert cache.stats.hashed == 1


def test_size_change_invalidates_and_gives_new_digest(tree: Path) -> None:
    HashCache(tree).digest_all(files_of(tree))
    target = tree / "data" / "03.bin"
    write(target, b"new and longer content")  # same (old) mtime, other size
    cache = HashCache(tree)
    blobs = cache.digest_all(files := files_of(tree))
    assert cache.stats.hashed == 1
    assert blobs[[f.rel for f in files].index("03.bin")] == blob(b"new and longer content")


def test_inode_change_invalidates(tree: Path) -> None:
    HashCache(tree).digest_all(files_of(tree))
    target = tree / "data" / "03.bin"
    data = target.read_bytes()
    same_len = bytes(reversed(data))
    replacement = tree / "data" / "tmp.swap"
    write(replacement, same_len)  # same size, same mtime, other inode (an editor's save)
    os.replace(replacement, target)
    cache = HashCache(tree)
    blobs = cache.digest_all(files := files_of(tree))
    assert cache.stats.hashed == 1
    assert blobs[[f.rel for f in files].index("03.bin")] == blob(same_len)


def test_racily_clean_entries_are_rehashed(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "new.bin").write_bytes(b"fresh")  # mtime: now
    HashCache(tmp_path).digest_all(files_of(tmp_path))
    again = HashCache(tmp_path)
    again.digest_all(files_of(tmp_path))
    assert again.stats.hashed == 1  # mtime too close to the hashing time to be trusted


def test_corrupt_cache_is_rebuilt(tree: Path) -> None:
    files = files_of(tree)
    HashCache(tree).digest_all(files)
    db = tree / CACHE_RELPATH
    for suffix in ("-wal", "-shm"):
        Path(str(db) + suffix).unlink(missing_ok=True)
    db.write_bytes(b"this is not a database" * 100)
    cache = HashCache(tree)
    assert cache.digest_all(files) == [blob(Path(f.path).read_bytes()) for f in files]
    assert cache.stats.rebuilt
    cache.close()
    assert HashCache(tree).digest_all(files) and sqlite3.connect(db).execute("SELECT count(*) FROM hashes").fetchone()[0] == len(files)


def test_unwritable_cache_location_falls_back_to_memory(tree: Path) -> None:
    (tree / ".labelsync").write_text("a file where the cache directory should be")
    files = files_of(tree)
    assert len(HashCache(tree).digest_all(files)) == len(files)


def test_two_instances_at_once(tree: Path) -> None:
    files = files_of(tree)
    a, b = HashCache(tree), HashCache(tree)
    assert a.digest_all(files) == b.digest_all(files)
    a.close()
    b.close()


def test_file_changed_after_scan_is_not_cached(tree: Path) -> None:
    files = files_of(tree)
    write(tree / "data" / "00.bin", b"changed after the scan", OLD + 5)
    cache = HashCache(tree)
    blobs = cache.digest_all(files)
    assert blobs[0] == blob(b"changed after the scan")
    again = HashCache(tree)
    again.digest_all(files_of(tree))
    assert again.stats.hashed == 1


def test_vanished_file_is_a_clear_error(tree: Path) -> None:
    files = files_of(tree)
    (tree / "data" / "00.bin").unlink()
    with pytest.raises(LocalDataError, match="disappeared"):
        HashCache(tree).digest_all(files)


def test_same_size_rewrite_with_mtime_put_back_is_rehashed(tree: Path) -> None:
    HashCache(tree).digest_all(files_of(tree))
    target = tree / "data" / "03.bin"
    data = target.read_bytes()
    same_len = bytes(reversed(data))
    write(target, same_len)  # same inode, same size, mtime restored (touch -r): only ctime moves
    cache = HashCache(tree)
    blobs = cache.digest_all(files := files_of(tree))
    assert cache.stats.hashed == 1
    assert blobs[[f.rel for f in files].index("03.bin")] == blob(same_len)


def test_a_cache_of_the_older_layout_is_rebuilt(tree: Path) -> None:
    db = tree / CACHE_RELPATH
    db.parent.mkdir(parents=True)
    conn = sqlite3.connect(db)
    conn.executescript(
        "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL); INSERT INTO meta VALUES ('version', '1');"
        "CREATE TABLE hashes (path TEXT PRIMARY KEY, size INTEGER, mtime_ns INTEGER, inode INTEGER, sha1 TEXT, hashed_ns INTEGER);"
    )
    conn.close()
    files = files_of(tree)
    assert HashCache(tree).digest_all(files) == [blob(Path(f.path).read_bytes()) for f in files]
    warm = HashCache(tree)
    warm.digest_all(files)
    assert warm.stats.hashed == 0


def test_on_chunk_reports_every_file_once_hits_then_hashed_chunks(tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from labelsync.local import hashcache

    monkeypatch.setattr(hashcache, "CALLBACK_CHUNK", 4)
    files = files_of(tree)
    first = HashCache(tree)
    first.digest_all(files[:5])  # cached: hits on the next run
    first.close()
    seen: list[tuple[list[str], bytes, list[int]]] = []
    cache = HashCache(tree)
    cache.on_chunk = lambda paths, digests, sizes: seen.append((paths, digests, sizes))
    blobs = cache.digest_all(files)
    assert [len(p) for p, _, _ in seen] == [5, 4, 4, 4, 4]  # the hits, then chunks of the 16 hashed
    reported = {p[k]: (d[20 * k : 20 * k + 20].hex(), s[k]) for p, d, s in seen for k in range(len(p))}
    assert sum(len(p) for p, _, _ in seen) == len(reported) == len(files)
    assert reported == {f.path: (b.checksum, b.size) for f, b in zip(files, blobs, strict=True)}
