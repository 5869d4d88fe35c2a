"""Run a few column-producing tasks at once: all but the first in forked child processes.

Contract of :func:`run_forked`:

* ``run_forked(tasks)`` returns ``[task() for task in tasks]``, the same values in the same
  order, computed concurrently: ``tasks[0]`` in this process, each other one in a child
  made by ``os.fork`` (so a task sees this process's memory as it was at the fork: open
  descriptors, compiled patterns, directory entries; nothing is pickled).
* A task returns :data:`Columns`: a list of strings (no NUL in them), a list of ``array``
  columns and one ``bytes`` blob. A child sends its result back through a pipe packed
  (the strings joined by NUL and encoded with ``surrogateescape``, the arrays' raw bytes):
  no object per row crosses the pipe.
* Errors come out as a serial run gives them: when ``tasks[0]`` raises, the children are
  killed and reaped and the error propagates; a child that raises, dies or answers short is
  not trusted: its task is run again here, in order, so whatever it raises (for example the
  :class:`~labelsync.errors.LocalDataError` of an unreadable directory) is what this process
  raises, and the tasks after it are not waited for (their children are killed). Never a
  hang: a child only ever runs its task, writes, and ``os._exit``\\ s. A task must take no
  lock another thread of this process may hold at the fork (no imports, logging or shared
  I/O objects: only its own data, system calls and its pipe), so forking beside threads is
  safe.
* Without ``os.fork`` (or with one task) every task runs here, one after the other.
"""

from __future__ import annotations

import contextlib
import os
import signal
import struct
from array import array
from collections.abc import Callable, Sequence

Columns = tuple[list[str], list[array], bytes]
"""Strings, array columns and one raw blob: what a task returns."""

_HEAD = struct.Struct("<qqqq")  # strings, bytes of strings, arrays, bytes of the blob
_COLUMN = struct.Struct("<cq")  # typecode, bytes
_LENGTH = struct.Struct("<q")  # what a child writes first: the bytes of its packed answer


def run_forked(tasks: Sequence[Callable[[], Columns]]) -> list[Columns]:
    """Each task's result, in order (see the module docstring)."""
    if len(tasks) < 2 or not hasattr(os, "fork"):
        return [task() for task in tasks]
    children: list[tuple[int, int] | None] = []  # (pid, read end of its pipe)
    try:
        for task in tasks[1:]:
            children.append(_spawn(task))
        results = [tasks[0]()]
        for k, child in enumerate(children):
            got = _collect(child) if child is not None else None
            children[k] = None
            results.append(got if got is not None else tasks[k + 1]())
        return results
    finally:
        for child in children:
            if child is not None:
                _kill(child)


def _spawn(task: Callable[[], Columns]) -> tuple[int, int] | None:
    """Fork a child that runs ``task`` and writes its packed result; None if fork fails."""
    r, w = os.pipe()
    try:
        pid = os.fork()
    except OSError:
        os.close(r)
        os.close(w)
        return None
    if pid == 0:  # the child: never returns
        code = 1
        try:
            os.close(r)
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            data = pack(task())
            view = memoryview(_LENGTH.pack(len(data)) + data)
            while view:
                view = view[os.write(w, view) :]
            code = 0
        except BaseException:  # noqa: BLE001 - the parent re-runs the task and raises
            pass
        finally:
            os._exit(code)
    os.close(w)
    return pid, r


def _collect(child: tuple[int, int]) -> Columns | None:
    """The child's result, or None when it failed (then reaped). The answer is read into one
    buffer of the size it announces (no list of chunks joined: half the transient memory)."""
    pid, r = child
    data: bytearray | None = None
    try:
        head = _read_full(r, bytearray(_LENGTH.size))
        if head is not None:
            data = _read_full(r, bytearray(_LENGTH.unpack(head)[0]))
            if data is not None and os.read(r, 1):
                data = None  # more than announced
    finally:
        os.close(r)
        _, status = os.waitpid(pid, 0)
    if data is None or not os.WIFEXITED(status) or os.WEXITSTATUS(status) != 0:
        return None
    try:
        return unpack(data)
    except (ValueError, struct.error, UnicodeDecodeError):
        return None


def _read_full(fd: int, buf: bytearray) -> bytearray | None:
    """Fill ``buf`` from ``fd``; None when the pipe ends first."""
    view, pos = memoryview(buf), 0
    while pos < len(buf):
        n = os.readv(fd, [view[pos : pos + (1 << 24)]])
        if not n:
            return None
        pos += n
    return buf


def _kill(child: tuple[int, int]) -> None:
    pid, r = child
    with contextlib.suppress(OSError):
        os.close(r)
    with contextlib.suppress(OSError):
        os.kill(pid, signal.SIGKILL)
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, 0)


def pack(result: Columns) -> bytes:
    """``result`` as bytes (see the module docstring)."""
    strings, columns, blob = result
    text = "\0".join(strings).encode("utf-8", "surrogateescape")
    parts = [_HEAD.pack(len(strings), len(text), len(columns), len(blob)), text]
    for column in columns:
        raw = column.tobytes()
        parts += [_COLUMN.pack(column.typecode.encode(), len(raw)), raw]
    parts.append(blob)
    return b"".join(parts)


def unpack(data: bytes | bytearray) -> Columns:
    """The inverse of :func:`pack`; raises ``ValueError`` when ``data`` is cut short."""
    n, text_len, ncols, blob_len = _HEAD.unpack_from(data)
    pos = _HEAD.size
    view = memoryview(data)  # slices of it are not copies
    text = str(view[pos : pos + text_len], "utf-8", "surrogateescape")
    pos += text_len
    strings = text.split("\0") if n else []
    if len(strings) != n:
        raise ValueError("strings cut short")
    columns = []
    for _ in range(ncols):
        code, size = _COLUMN.unpack_from(data, pos)
        pos += _COLUMN.size
        column = array(code.decode())
        column.frombytes(view[pos : pos + size])
        if column.itemsize * len(column) != size:
            raise ValueError("column cut short")
        columns.append(column)
        pos += size
    blob = bytes(view[pos : pos + blob_len])
    if len(blob) != blob_len or pos + blob_len != len(data):
        raise ValueError("blob cut short")
    return strings, columns, blob
