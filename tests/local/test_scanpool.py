"""The parallel scan (labelsync.local.scanpool over forked workers): the same columns, order
and errors as the one-process walk, and the cold-cache hashing done by the workers."""

from __future__ import annotations

import hashlib
import os
import signal
from array import array
from pathlib import Path

import pytest

import labelsync.local.scan as scan_mod
from labelsync.errors import LocalDataError
from labelsync.local import forked, scanpool
from labelsync.local.hashcache import HashCache
from labelsync.local.scan import ScanList, scan_dir

RELS = [
    "a.bin", "a-b.bin", "a0.bin", "b/x.bin", "b/y/1.bin", "b/y/2.bin", "b/z.bin", "c.bin",
    *(f"d{k}/{i:03}.bin" for k in range(4) for i in range(7)), "e/f/g/h.bin", "e/f/i.bin", "z.bin",
    "skip/me.tmp", "keep/me.tmp",
]


def tree(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    for i, rel in enumerate(RELS):
        p = data / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(f"{i}:{rel}".encode() * (i + 1))
    (data / "b" / "link.bin").symlink_to(data / "c.bin")
    (data / "b" / "loop").symlink_to(data / "b")
    return data


def columns(s: ScanList) -> tuple[object, ...]:
    return s.base, s.rels, s.sizes, s.mtimes, s.inodes, s.ctimes


@pytest.fixture
def serial_and_parallel(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    data = tree(tmp_path)
    monkeypatch.setattr(scan_mod, "_workers", lambda: 3)
    return tmp_path, data


@pytest.mark.parametrize("after", [1, 2, 3, 5, 9, 17, 30])
@pytest.mark.parametrize(("include", "exclude"), [(("**/*",), ()), (("**/*.bin", "keep/*"), ("d2", "b/y/1.bin"))])
def test_a_split_scan_gives_the_one_process_columns_in_order(
    serial_and_parallel: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch, after: int,
    include: tuple[str, ...], exclude: tuple[str, ...],
) -> None:
    root, data = serial_and_parallel
    serial = scan_dir(root, data, include, exclude)
    forks: list[int] = []
    spawn = forked._spawn
    monkeypatch.setattr(forked, "_spawn", lambda task: forks.append(1) or spawn(task))
    monkeypatch.setattr(scan_mod, "PARALLEL_AFTER", after)
    parallel = scan_dir(root, data, include, exclude)
    assert forks  # the split happened (every cut point: between files, inside and above subdirectories)
    assert columns(parallel) == columns(serial)
    assert serial.rels == sorted(serial.rels) and "b/link.bin" in serial.rels


def test_a_small_tree_is_walked_without_a_fork(serial_and_parallel: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    root, data = serial_and_parallel
    monkeypatch.setattr(forked, "_spawn", lambda task: pytest.fail("forked for a small tree"))
    assert len(scan_dir(root, data, prehash=lambda base: True).rels) == len(RELS) + 1  # PARALLEL_AFTER files


def test_an_unreadable_directory_in_a_worker_is_the_serial_one_line_error(
    serial_and_parallel: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    root, data = serial_and_parallel
    opened = scan_mod._open_dir

    def refuse(abs_dir: str, *args: object) -> object:
        if abs_dir.endswith(os.sep + "d3"):
            raise LocalDataError(f"cannot read directory {abs_dir}: Permission denied")
        return opened(abs_dir, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(scan_mod, "_open_dir", refuse)
    with pytest.raises(LocalDataError) as serial:
        scan_dir(root, data)
    reran: list[int] = []
    collect = forked._collect
    monkeypatch.setattr(forked, "_collect", lambda child: reran.append(1) or collect(child))
    monkeypatch.setattr(scan_mod, "PARALLEL_AFTER", 3)
    with pytest.raises(LocalDataError) as parallel:
        scan_dir(root, data)
    assert str(parallel.value) == str(serial.value) == f"cannot read directory {data / 'd3'}: Permission denied"
    assert reran  # the error came from a worker's part, then from its re-run here


def test_a_worker_that_dies_has_its_part_walked_here(serial_and_parallel: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    root, data = serial_and_parallel
    serial = scan_dir(root, data)
    parent = os.getpid()
    stat_files = scan_mod._stat_files

    def die_in_a_worker(*args: object) -> None:
        if os.getpid() != parent:
            os.kill(os.getpid(), signal.SIGKILL)
        stat_files(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(scan_mod, "_stat_files", die_in_a_worker)
    monkeypatch.setattr(scan_mod, "PARALLEL_AFTER", 3)
    assert columns(scan_dir(root, data)) == columns(serial)


def test_the_first_task_failing_kills_and_reaps_the_workers(monkeypatch: pytest.MonkeyPatch) -> None:
    def slow() -> forked.Columns:
        signal.pause()
        return [], [], b""

    def boom() -> forked.Columns:
        raise LocalDataError("first part")

    pids: list[int] = []
    spawn = forked._spawn

    def spawned(task: object) -> tuple[int, int] | None:
        child = spawn(task)  # type: ignore[arg-type]
        assert child is not None
        pids.append(child[0])
        return child

    monkeypatch.setattr(forked, "_spawn", spawned)
    with pytest.raises(LocalDataError, match="first part"):
        forked.run_forked([boom, slow, slow])
    assert len(pids) == 2
    for pid in pids:
        with pytest.raises(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)  # killed and reaped: no child left behind


def test_packed_columns_round_trip_and_a_short_answer_is_refused() -> None:
    result = (["a", "b/\udcff", ""], [array("q", [1, -2, 3]), array("Q", [2**63])], b"\x00" * 20)
    data = forked.pack(result)
    assert forked.unpack(data) == result
    with pytest.raises(ValueError):
        forked.unpack(data[:-1])


def test_a_cold_cache_is_filled_by_the_workers_and_then_trusted(
    serial_and_parallel: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    root, data = serial_and_parallel
    monkeypatch.setattr(scan_mod, "PARALLEL_AFTER", 4)
    with HashCache(root) as cache:
        assert cache.has_none_under(str(data) + os.sep)
        files = scan_dir(root, data, prehash=cache.has_none_under)
        assert files.digests is not None and files.read_ns > 0
        sums, sizes = cache.digest_columns(files)
        assert cache.stats.hashed == len(files) and cache.stats.hits == 0
        for i, f in enumerate(files):
            body = Path(f.path).read_bytes()
            assert sums[20 * i : 20 * i + 20] == hashlib.sha1(body).digest() and sizes[i] == len(body)
        assert not cache.has_none_under(str(data) + os.sep)
    os.utime(data / "z.bin", ns=(1, 1))  # the racy window: make the other rows old
    for f in files:
        if f.rel != "z.bin":
            os.utime(f.path, ns=(10**18, 10**18))
    with HashCache(root) as cache:
        again = scan_dir(root, data, prehash=cache.has_none_under)
        assert again.digests is None  # the cache has rows now: looked up, not re-read
        cache.digest_columns(again)
        assert cache.stats.hashed == len(files)  # every mtime moved: all re-hashed by the lookup path
    with HashCache(root) as cache:
        cache.digest_columns(scan_dir(root, data))
        assert cache.stats.hits == len(files)


def test_a_file_the_workers_cannot_read_is_the_one_line_error_of_hashing(
    serial_and_parallel: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    root, data = serial_and_parallel
    reader = scanpool.read_and_hash

    def refuse(paths: list[str], sizes: object) -> list[tuple[int, bytes]]:
        out = reader(paths, sizes)  # type: ignore[arg-type]
        return [(-13, b"\0" * 20) if p.endswith("d1/003.bin") else r for p, r in zip(paths, out, strict=True)]

    monkeypatch.setattr(scanpool, "read_and_hash", refuse)
    monkeypatch.setattr(scan_mod, "PARALLEL_AFTER", 4)
    with HashCache(root) as cache:
        files = scan_dir(root, data, prehash=cache.has_none_under)
        with pytest.raises(LocalDataError, match=r"d1/003\.bin: cannot read: Permission denied$"):
            cache.digest_columns(files)


def test_a_file_that_changed_between_scan_and_read_is_hashed_as_read_and_not_cached(
    serial_and_parallel: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    root, data = serial_and_parallel
    reader = scanpool.read_and_hash

    def grow(paths: list[str], sizes: list[int]) -> list[tuple[int, bytes]]:
        for p in paths:
            if p.endswith("d2/005.bin"):
                with open(p, "ab") as fh:
                    fh.write(b"more")  # after the worker's stat, before its read
        return reader(paths, sizes)

    monkeypatch.setattr(scanpool, "read_and_hash", grow)
    monkeypatch.setattr(scan_mod, "PARALLEL_AFTER", 4)
    with HashCache(root) as cache:
        files = scan_dir(root, data, prehash=cache.has_none_under)
        sums, sizes = cache.digest_columns(files)
        i = files.rels.index("d2/005.bin")
        body = (data / "d2" / "005.bin").read_bytes()
        assert sizes[i] == len(body) == files.sizes[i] + 4
        assert sums[20 * i : 20 * i + 20] == hashlib.sha1(body).digest()
        rows = {r[0] for r in cache._query("SELECT path FROM hashes", ())}
        assert f"data/{files.rels[0]}" in rows and "data/d2/005.bin" not in rows
        assert len(rows) == len(files) - 1


def test_a_scan_from_another_thread_while_threads_run_forks_and_gives_the_same_columns(
    serial_and_parallel: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The engine and the Dask executor scan from worker threads, beside other threads."""
    import threading

    root, data = serial_and_parallel
    serial = scan_dir(root, data)
    monkeypatch.setattr(scan_mod, "PARALLEL_AFTER", 3)
    forks: list[int] = []
    spawn = forked._spawn
    monkeypatch.setattr(forked, "_spawn", lambda task: forks.append(1) or spawn(task))
    answered: list[bool] = []
    collect = forked._collect
    monkeypatch.setattr(forked, "_collect", lambda child: (lambda r: answered.append(r is not None) or r)(collect(child)))
    stop = threading.Event()
    busy = threading.Thread(target=lambda: [None for _ in iter(lambda: stop.wait(0.001), True)], daemon=True)
    busy.start()
    got: list[ScanList] = []
    try:
        worker = threading.Thread(target=lambda: got.append(scan_dir(root, data)))
        worker.start()
        worker.join(30)
    finally:
        stop.set()
        busy.join(5)
    assert forks and got and columns(got[0]) == columns(serial)
    assert answered and all(answered)  # the workers answered: nothing was re-walked here


@pytest.mark.parametrize("answer", [b"", b"\x05", forked._LENGTH.pack(100) + b"x" * 10, forked._LENGTH.pack(0) + b"extra"])
def test_a_child_whose_answer_is_short_or_long_is_not_trusted(answer: bytes) -> None:
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # exits 0 after a wrong answer
        os.write(w, answer)
        os._exit(0)
    os.close(w)
    assert forked._collect((pid, r)) is None
    with pytest.raises(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)  # reaped
