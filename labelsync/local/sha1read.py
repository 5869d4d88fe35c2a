"""Read and SHA-1 a list of files: one ``open`` and, for a file smaller than the buffer,
one ``read`` each, no ``stat``. The reader under :func:`labelsync.local.hashing.hash_files`
and the scan workers (:mod:`labelsync.local.scanpool`); no threads or processes here.

Contract of :func:`read_and_hash`: ``(bytes_read, 20-byte digest)`` per path, in order;
``bytes_read`` is minus the ``errno`` (digest all zero) for a file that could not be opened
or read. ``sizes`` are the sizes the scan saw: a read shorter than the buffer that reaches
the expected size ends the file without a second (empty) read; any other short read goes
on until an empty read, so a file that grew or shrank since the scan is hashed as read.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence

BUFFER_SIZE = 1 << 20
_NOATIME = getattr(os, "O_NOATIME", 0)
_FLAGS = os.O_RDONLY | getattr(os, "O_BINARY", 0) | _NOATIME


def read_and_hash(paths: Sequence[bytes | str], sizes: Sequence[int]) -> list[tuple[int, bytes]]:
    """``(bytes_read, digest)`` per path; ``bytes_read`` is ``-errno`` when it failed."""
    buf = bytearray(BUFFER_SIZE)
    view = memoryview(buf)
    bufs = [buf]
    out: list[tuple[int, bytes]] = []
    append = out.append
    sha1, op, readv, close = hashlib.sha1, os.open, os.readv, os.close
    flags = _FLAGS
    for path, expect in zip(paths, sizes, strict=True):
        try:
            try:
                fd = op(path, flags)
            except PermissionError:
                if not flags & _NOATIME:
                    raise
                flags &= ~_NOATIME  # O_NOATIME needs ownership of the file: not for this share
                fd = op(path, flags)
            try:
                n = readv(fd, bufs)
                if n < BUFFER_SIZE and n == expect:  # the whole file in one read
                    append((n, sha1(view[:n], usedforsecurity=False).digest()))
                    continue
                h = sha1(usedforsecurity=False)
                total = 0
                while n:
                    h.update(view[:n])
                    total += n
                    if n < BUFFER_SIZE and total == expect:  # a short read at the expected end
                        break
                    n = readv(fd, bufs)
                append((total, h.digest()))
            finally:
                close(fd)
        except OSError as exc:
            append((-(exc.errno or 5), b"\0" * 20))
    return out
