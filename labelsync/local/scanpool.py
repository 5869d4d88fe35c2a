"""The rest of a large scan on several processes: the walk split in path order, optionally
with every file read and hashed where it was found.

Contract of :func:`scan_parts` (called by :func:`labelsync.local.scan.scan_dir` once its
walk has listed :data:`~labelsync.local.scan.PARALLEL_AFTER` files and is not done):

* what the walk has still to visit (the items left in each open directory of its stack,
  deepest first: that is path order) is cut into ``workers`` contiguous parts of about
  equal estimated size (a file counts 1, a directory not yet listed the mean number of
  files per directory listed so far); part 0 continues in this process, the others run
  in forked children (:func:`labelsync.local.forked.run_forked`), each with the walk of
  :mod:`labelsync.local.scan` itself, and their columns are concatenated in part order:
  the same rows in the same order as the one-process walk gives;
* with ``hash_them``, each part then opens, reads and SHA-1s its own files (one ``open``
  and, for a small file, one ``read`` each, no ``stat``: :func:`labelsync.local.hashing`'s
  reader), part 0 also those the walk listed before the split; the result then carries
  one 20-byte digest and one bytes-read count (or minus the ``errno``) per file;
* errors are the one-process walk's: a part whose child fails is walked again here, in
  order, so an unreadable directory raises the same :class:`~labelsync.errors.LocalDataError`;
* the stack passed in is not changed (its descriptors stay the caller's to close); the
  directories the parts open are closed by the part that opened them.
"""

from __future__ import annotations

import os
from array import array
from collections.abc import Callable
from typing import Any

from labelsync.local.forked import Columns, run_forked
from labelsync.local.scan import _Frame, _Out, _Rules, _walk
from labelsync.local.sha1read import read_and_hash


def scan_parts(
    stack: list[_Frame], rules: _Rules, out: _Out, base: str, workers: int, hash_them: bool
) -> tuple[_Out, bytes | None, array[int] | None]:
    """``(columns, digests, read sizes)`` of the whole scan (see the module docstring)."""
    parts = _split(stack, out, workers, hash_them)
    tasks: list[Callable[[], Columns]] = [
        _task(part, rules, out if k == 0 else _new_out(), base, hash_them) for k, part in enumerate(parts)
    ]
    results = run_forked(tasks)
    rels, sizes, mtimes, inodes, ctimes = out
    for strings, columns, _ in results[1:]:  # part 0 grew ``out`` itself
        rels.extend(strings)
        for column, more in zip((sizes, mtimes, inodes, ctimes), columns[:4], strict=True):
            column.extend(more)
    if not hash_them:
        return out, None, None
    read = array("q")
    for _, columns, _ in results:
        read.extend(columns[4])
    return out, b"".join(r[2] for r in results), read


def _new_out() -> _Out:
    return [], array("q"), array("q"), array("Q"), array("q")


def _task(part: list[_Frame], rules: _Rules, out: _Out, base: str, hash_them: bool) -> Callable[[], Columns]:
    def run() -> Columns:
        stack = list(part)
        try:
            _walk(stack, rules, out)
        finally:
            for frame in stack:
                if frame[1] >= 0:
                    os.close(frame[1])
        rels, sizes = out[0], out[1]
        columns: list[Any] = list(out[1:])
        blob = b""
        if hash_them:
            records = read_and_hash([base + rel for rel in rels], sizes)
            columns.append(array("q", [n for n, _ in records]))
            blob = b"".join([digest for _, digest in records])
        return rels, columns, blob

    return run


def _split(stack: list[_Frame], out: _Out, workers: int, hash_them: bool) -> list[list[_Frame]]:
    """The items left on ``stack`` as ``workers`` stacks of frame copies (descriptor ``-1``:
    not theirs to close), contiguous in path order, part 0 first."""
    rels = out[0]
    listed_dirs = max(1, len({rel.rpartition("/")[0] for rel in rels}))
    per_dir = max(1.0, len(rels) / listed_dirs)
    left: list[tuple[int, Any, float]] = []  # (depth, item, estimated files), in path order
    for depth in range(len(stack) - 1, -1, -1):
        for item in reversed(stack[depth][0]):
            left.append((depth, item, float(len(item)) if type(item) is list else per_dir))
    total = sum(w for _, _, w in left)
    done = len(rels) if hash_them else 0  # part 0 also hashes what was listed before
    share = (total + done) / workers
    bounds = [max(0.0, share - done) + share * k for k in range(workers - 1)]
    parts: list[list[tuple[int, Any]]] = [[] for _ in range(workers)]
    k, acc = 0, 0.0
    for depth, item, weight in left:
        while k < workers - 1 and acc >= bounds[k]:
            k += 1
        parts[k].append((depth, item))
        acc += weight
    return [_frames(stack, part) for part in parts]


def _frames(stack: list[_Frame], part: list[tuple[int, Any]]) -> list[_Frame]:
    """A stack for the items of ``part``: one copy per frame that has some, in stack order,
    each copy's items reversed (the walk pops the next one)."""
    by_depth: dict[int, list[Any]] = {}
    for depth, item in part:
        by_depth.setdefault(depth, []).append(item)
    frames = []
    for depth in sorted(by_depth):
        items, _, abs_dir, dir_real, prefix, ancestors = stack[depth]
        frames.append((by_depth[depth][::-1], -1, abs_dir, dir_real, prefix, ancestors))
    return frames
