"""SHA-1 of many local files at disk speed: one open and as few reads as possible per file,
spread over threads (or worker processes).

Contract of :func:`hash_files`:

* ``hash_files(paths, sizes, jobs)`` returns one ``(sha1_hex, bytes_read)`` per path, in
  order. ``sizes`` are the sizes the scan saw: a read shorter than the buffer that reaches
  the expected size ends the file without a second (empty) read, as a regular file's short
  read means end of file; any other short read goes on until an empty read, so a file that
  grew or shrank since the scan is hashed as it is read, and its ``bytes_read`` differs.
* Per file: ``open``, ``readv`` into one reusable buffer of :data:`BUFFER_SIZE` (1 MiB),
  ``close``; no ``stat`` (the scan's ``DirEntry.stat`` is the only one).
* With ``jobs > 1`` and enough work (:data:`MIN_FILES_PER_WORKER` files or
  :data:`MIN_BYTES_PER_WORKER` bytes per share), ``min(jobs, CPUs)`` interleaved shares are
  hashed at once: on threads (the default), or with ``processes=True`` in worker processes
  (``python -m labelsync.local.hashing``) plus this one. A worker that fails to start or dies
  is not fatal: its share is hashed here.
* A file that vanished raises :class:`LocalDataError` naming it; so does an unreadable one.

Worker protocol: stdin carries the count ``n`` (int64), ``n`` expected sizes (int64) and the
``n`` paths joined by NUL (``os.fsencode``); stdout answers one :data:`RECORD` per input, in
order: the byte count read (negative: minus the ``errno`` of the failure) and the 20-byte
SHA-1 digest.
"""

from __future__ import annotations

import os
import struct
import subprocess
import sys
import threading
from array import array
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Literal, overload

from labelsync.local.sha1read import BUFFER_SIZE as BUFFER_SIZE
from labelsync.local.sha1read import read_and_hash

RECORD = struct.Struct("<q20s")
MIN_FILES_PER_WORKER = 2_000
MIN_BYTES_PER_WORKER = 64 << 20


def _error(path: str, code: int) -> Exception:
    from labelsync.errors import LocalDataError

    if -code == 2:  # ENOENT
        return LocalDataError(f"{path}: file disappeared while reading", hint="re-run the command")
    return LocalDataError(f"{path}: cannot read: {os.strerror(-code)}")


class _Worker:
    """One ``python -m labelsync.local.hashing`` process hashing a share (see the module doc)."""

    def __init__(self, paths: Sequence[str], sizes: Sequence[int]) -> None:
        self.count = len(paths)
        self.result: list[tuple[int, bytes]] | None = None
        self._input = struct.pack("<q", len(paths)) + array("q", sizes).tobytes() + os.fsencode("\0".join(paths))
        try:
            self._proc: subprocess.Popen[bytes] | None = subprocess.Popen(
                [sys.executable, "-m", "labelsync.local.hashing"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
            )
        except OSError:
            self._proc = None
            return
        self._thread = threading.Thread(target=self._talk, name="labelsync-hash-worker", daemon=True)
        self._thread.start()

    def _talk(self) -> None:
        # One blocking write and one read to EOF: the GIL is released for the whole transfer,
        # not taken back for each 4 KiB as Popen.communicate's select loop does, which would
        # slow this process's own share down.
        proc = self._proc
        assert proc is not None and proc.stdin is not None and proc.stdout is not None
        try:
            with proc.stdin:
                proc.stdin.write(self._input)
            self._input = b""
            with proc.stdout:
                data = proc.stdout.read()
        except OSError:
            data = b""
        if proc.wait() == 0 and len(data) == RECORD.size * self.count:
            self.result = list(RECORD.iter_unpack(data))

    def wait(self) -> list[tuple[int, bytes]] | None:
        """The worker's records, or None when it failed (its share is then hashed here)."""
        if self._proc is None:
            return None
        self._thread.join()
        return self.result


@overload
def hash_files(
    paths: Sequence[str], sizes: Sequence[int], jobs: int = ..., *, processes: bool = ..., raw: Literal[False] = ...
) -> list[tuple[str, int]]: ...


@overload
def hash_files(
    paths: Sequence[str], sizes: Sequence[int], jobs: int = ..., *, processes: bool = ..., raw: Literal[True]
) -> list[tuple[int, bytes]]: ...


def hash_files(
    paths: Sequence[str], sizes: Sequence[int], jobs: int = 4, *, processes: bool = False, raw: bool = False
) -> list[tuple[str, int]] | list[tuple[int, bytes]]:
    """``(sha1_hex, bytes_read)`` of every path, in order (see the module docstring); with
    ``raw=True`` ``(bytes_read, 20-byte digest)`` instead (no hex string per file).

    The shares run on threads of this process (``open``, ``readv`` and SHA-1 of more than 2 KiB
    release the GIL); ``processes=True`` runs all but one in worker processes instead. The
    figures of ``benchmarks/hashing.py`` decided for threads: a tie on 100,000 x 256 B
    (1.85 s vs 1.80 s), ahead on 1,000 x 8 MiB (11.5 s vs 13.3 s), no process to start.
    """
    n = len(paths)
    total = sum(sizes)
    workers = max(1, min(jobs, os.cpu_count() or 1, max(n // MIN_FILES_PER_WORKER, total // MIN_BYTES_PER_WORKER, 1)))
    if workers == 1 or n < 2:
        return _finish(paths, read_and_hash(paths, sizes), raw)
    records: list[list[tuple[int, bytes]]]
    if processes:
        shares = [_Worker(paths[w::workers], sizes[w::workers]) for w in range(1, workers)]
        records = [read_and_hash(paths[0::workers], sizes[0::workers])]
        for w, worker in enumerate(shares, start=1):
            got = worker.wait()
            records.append(got if got is not None else read_and_hash(paths[w::workers], sizes[w::workers]))
    else:
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="labelsync-hash") as pool:
            records = list(pool.map(lambda w: read_and_hash(paths[w::workers], sizes[w::workers]), range(workers)))
    merged: list[tuple[int, bytes]] = [(0, b"")] * n
    for w, part in enumerate(records):
        merged[w::workers] = part
    return _finish(paths, merged, raw)


def _finish(paths: Sequence[str], records: list[tuple[int, bytes]], raw: bool = False) -> Any:
    for i, (size, _) in enumerate(records):
        if size < 0:
            raise _error(paths[i], size)
    return records if raw else [(digest.hex(), size) for size, digest in records]


def sha1_file(path: str, size: int = -1) -> tuple[str, int]:
    """``(sha1_hex, bytes_read)`` of one file; raises :class:`LocalDataError` when unreadable."""
    return _finish([path], read_and_hash([path], [size]))[0]


def _serve() -> None:
    """The worker: read every record from stdin, then answer them all on stdout."""
    data = sys.stdin.buffer.read()
    if len(data) < 8:
        return
    (n,) = struct.unpack_from("<q", data)
    sizes = array("q")
    sizes.frombytes(data[8 : 8 + 8 * n])
    paths = data[8 + 8 * n :].split(b"\0") if n else []
    pack = RECORD.pack
    sys.stdout.buffer.write(b"".join(pack(s, d) for s, d in read_and_hash(paths, sizes)))
    sys.stdout.buffer.flush()


if __name__ == "__main__":
    _serve()
