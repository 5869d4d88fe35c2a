"""Hashing at disk speed: worker processes, one open and one read per small file, no stat."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from labelsync.errors import LocalDataError
from labelsync.local import hashing
from labelsync.local.hashing import hash_files, sha1_file
from labelsync.local.scan import LocalFile, scan_dir

CONTENTS = [b"", b"x", b"tiny file", os.urandom(hashing.BUFFER_SIZE), os.urandom(3 * hashing.BUFFER_SIZE + 7)]


@pytest.fixture()
def tree(tmp_path: Path) -> tuple[list[str], list[int], list[tuple[str, int]]]:
    paths, sizes, want = [], [], []
    for i in range(12):
        data = CONTENTS[i % len(CONTENTS)] + (str(i).encode() if i % len(CONTENTS) < 3 else b"")
        p = tmp_path / "data" / f"d{i % 3}" / f"{i:02}.bin"
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
        paths.append(str(p))
        sizes.append(len(data))
        want.append((hashlib.sha1(data).hexdigest(), len(data)))
    return paths, sizes, want


@pytest.fixture()
def many_workers(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """Workers even for a dozen files on any machine; the commands of those started."""
    monkeypatch.setattr(hashing, "MIN_FILES_PER_WORKER", 1)
    monkeypatch.setattr(os, "cpu_count", lambda: 3)
    started: list[list[str]] = []
    real = subprocess.Popen

    def popen(args: list[str], **kw: object) -> subprocess.Popen[bytes]:
        started.append(list(args))
        return real(args, **kw)  # type: ignore[call-overload, no-any-return]

    monkeypatch.setattr(hashing.subprocess, "Popen", popen)
    return started


def test_worker_processes_hash_their_shares(tree, many_workers) -> None:  # type: ignore[no-untyped-def]
    paths, sizes, want = tree
    assert hash_files(paths, sizes, jobs=3, processes=True) == want
    assert many_workers == [[sys.executable, "-m", "labelsync.local.hashing"]] * 2  # + this process's share


def test_threads_give_the_same(tree, many_workers) -> None:  # type: ignore[no-untyped-def]
    paths, sizes, want = tree
    assert hash_files(paths, sizes, jobs=3) == want  # threads: the default
    assert many_workers == []


def test_a_dead_worker_share_is_hashed_here(tree, many_workers, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    paths, sizes, want = tree
    monkeypatch.setattr(hashing.sys, "executable", "/bin/false")
    assert hash_files(paths, sizes, jobs=3, processes=True) == want
    assert len(many_workers) == 2


def test_a_file_vanished_in_a_worker_share_names_it(tree, many_workers) -> None:  # type: ignore[no-untyped-def]
    paths, sizes, _ = tree
    os.unlink(paths[4])  # 4 % 3 == 1: a worker's share
    with pytest.raises(LocalDataError, match=rf"{paths[4]}: file disappeared while reading"):
        hash_files(paths, sizes, jobs=3, processes=True)
    with pytest.raises(LocalDataError, match=rf"{paths[4]}: file disappeared while reading"):
        hash_files(paths, sizes, jobs=3)


def test_one_open_and_one_read_per_small_file_and_no_stat(tree, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    paths, sizes, want = tree
    calls: list[str] = []
    real_readv = os.readv

    def readv(fd: int, bufs: list[bytearray]) -> int:
        calls.append("readv")
        return real_readv(fd, bufs)

    def no_stat(*a: object, **kw: object) -> None:
        raise AssertionError("stat while hashing")

    with monkeypatch.context() as m:
        m.setattr(os, "readv", readv)
        for name in ("stat", "fstat", "lstat"):
            m.setattr(os, name, no_stat)
        got = hash_files(paths, sizes, jobs=1)
    assert got == want
    small = sum(1 for s in sizes if s < hashing.BUFFER_SIZE)
    big_reads = sum(s // hashing.BUFFER_SIZE + 1 for s in sizes if s >= hashing.BUFFER_SIZE)
    assert len(calls) == small + big_reads


def test_a_size_other_than_scanned_reads_to_the_end(tmp_path: Path) -> None:
    p = tmp_path / "grown.bin"
    p.write_bytes(b"0123456789")
    assert sha1_file(str(p), 4) == (hashlib.sha1(b"0123456789").hexdigest(), 10)
    assert sha1_file(str(p)) == (hashlib.sha1(b"0123456789").hexdigest(), 10)


def test_unreadable_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(LocalDataError, match="cannot read: Is a directory"):
        sha1_file(str(tmp_path))


def test_scanned_records_share_the_data_dir_string(tmp_path: Path) -> None:
    for rel in ("a.bin", "x/b.bin", "x/y/c.bin"):
        (tmp_path / "data" / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "data" / rel).write_bytes(b"1")
    files = scan_dir(tmp_path, tmp_path / "data")
    assert [f.path for f in files] == [str(tmp_path / "data" / r) for r in ("a.bin", "x/b.bin", "x/y/c.bin")]
    assert all(type(f) is LocalFile and isinstance(f, tuple) for f in files)
    assert files[0][1] is files[1][1] is files[2][1]  # one base string for the tree, not a path per file
    one = LocalFile("m.png", "/abs/masks/m.png", 1, 2, 3, 4)
    assert (one.rel, one.path, one.size, one.mtime_ns, one.inode, one.ctime_ns) == ("m.png", "/abs/masks/m.png", 1, 2, 3, 4)
