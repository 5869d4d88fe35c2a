"""The digests a scan computed itself (a large tree on a cold hash cache, see
:func:`labelsync.local.scan.scan_dir`'s ``prehash``) as the hash cache's columns and rows.

Contract: :func:`columns` gives the 20-byte digests and the bytes read, in scan order, and
raises the :class:`~labelsync.errors.LocalDataError` that
:func:`~labelsync.local.hashing.hash_files` raises for the first file (in that order) the
scan could not read; :func:`rows` makes the cache rows of every file whose bytes read match
its scanned size (a file that changed since the scan is hashed as read, not cached), hashed
at the scan's ``read_ns`` (no file was read before it: the racy window counts from there).
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Iterable
from itertools import repeat
from typing import Any

from labelsync.local.hashing import _error

Rows = Iterable[tuple[str, int, int, int, int, str, int]]
"""``(path key, size, mtime_ns, inode, ctime_ns, sha1 hex, hashed_ns)`` per file."""


def columns(files: Any) -> tuple[bytearray, array[int]]:
    """``(digests, bytes read)`` of a :class:`~labelsync.local.scan.ScanList` that carries them."""
    read: array[int] = files.read_sizes
    if len(read) and min(read) < 0:
        i = next(i for i, got in enumerate(read) if got < 0)
        raise _error(files.base + files.rels[i], read[i])
    return bytearray(files.digests), array("q", read)


def rows(files: Any, key_base: str) -> Callable[[], Rows]:
    """A function making the cache rows of ``files`` (keys ``key_base + rel``), built by
    iterators in C when every file read as scanned."""
    n, rels, scanned, read, digests, hashed_ns = (
        len(files), files.rels, files.sizes, files.read_sizes, files.digests, files.read_ns
    )
    if read == scanned:
        def every() -> Rows:
            hexed = digests.hex()
            slices = map(slice, range(0, 40 * n, 40), range(40, 40 * n + 40, 40))
            return zip(
                map(key_base.__add__, rels), scanned, files.mtimes, files.inodes, files.ctimes,
                map(hexed.__getitem__, slices), repeat(hashed_ns),
            )
        return every

    def unchanged() -> Rows:
        return (
            (key_base + rel, size, mtime_ns, inode, ctime_ns, digests[20 * i : 20 * i + 20].hex(), hashed_ns)
            for i, (rel, size, mtime_ns, inode, ctime_ns, got) in enumerate(
                zip(rels, scanned, files.mtimes, files.inodes, files.ctimes, read, strict=True)
            )
            if got == size
        )
    return unchanged
