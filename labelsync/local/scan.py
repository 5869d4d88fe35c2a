"""Scan a data directory: the files a segment declares, with what the hash cache keys on.

Contract of :func:`scan_dir`:

* Returns one :class:`LocalFile` per regular file below ``data_dir`` whose path relative to
  ``data_dir`` matches an ``include`` pattern and no ``exclude`` pattern (gitignore-style,
  see :mod:`labelsync.local.patterns`), sorted by ``rel``. ``rel`` is a POSIX path and
  becomes the item's ``remotePath``.
* Hidden entries (a name starting with ``.``, file or directory: ``.git``, ``.DS_Store``,
  ``.labelsync``) are always skipped. So are sockets, FIFOs and devices.
* Symlinks are followed when they resolve inside ``root`` (the repository) and refused with
  :class:`LocalDataError` when they resolve outside it; a dangling symlink is an error too.
  A directory symlink to one of its own ancestors (a loop) is skipped.
* ``data_dir`` itself must exist, be a directory and lie inside ``root``.
* The walk yields files in ``rel`` order itself (each directory's entries sorted, a
  directory as its name plus ``/``, and visited in that order), so no sort of the whole
  scan follows.
* Cost: one ``open`` + ``os.scandir`` of the directory's descriptor per directory and one
  ``stat`` per selected file (``DirEntry.stat``: an ``fstatat`` relative to that descriptor,
  no walk of the full path; file types come from ``scandir`` itself), the stats of a
  directory's files taken in one comprehension; patterns are compiled once. Exclude
  patterns that match a directory prune the walk below it. A descriptor stays open per
  directory level being walked. The files are columns (:class:`ScanList`) sharing the data
  directory's path string.
* A large tree (still walking after :data:`PARALLEL_AFTER` files) is finished by forked
  worker processes, one per CPU up to 4 (:mod:`labelsync.local.scanpool`): the same rows, the
  same order, the same errors; a smaller one never forks.
"""

from __future__ import annotations

import os
import stat as stat_mod
import time
from array import array
from bisect import bisect_left
from collections.abc import Callable, Container, Iterator, Sequence
from operator import attrgetter
from pathlib import Path
from typing import Any, NamedTuple, overload

from labelsync.errors import LocalDataError
from labelsync.local.paths import is_inside
from labelsync.local.patterns import compile_patterns


class LocalFile(tuple[str, str, int, int, int, int, int]):
    """One local data file: a compact record (a 7-tuple, no per-file dict or object).

    ``rel``: POSIX path relative to the data directory (the remote path);
    ``path``: absolute path as found (may go through a symlink inside the repository),
    computed on access as ``base + rel[cut:]`` so a scan stores one shared ``base`` (the data
    directory) per tree instead of one absolute path string per file;
    ``size``, ``mtime_ns``, ``inode``, ``ctime_ns``: from ``stat`` (of the symlink's target),
    the hash cache's key together with ``path``. ``ctime_ns`` catches a same-size rewrite
    whose mtime was put back (``touch -r``, some sync tools): no program can set it.

    ``LocalFile(rel, path, size, mtime_ns, inode, ctime_ns=0)`` builds one from a full path.
    """

    __slots__ = ()

    def __new__(cls, rel: str, path: str, size: int, mtime_ns: int, inode: int, ctime_ns: int = 0) -> LocalFile:
        return tuple.__new__(cls, (rel, path, len(rel), size, mtime_ns, inode, ctime_ns))

    @property
    def rel(self) -> str:
        return self[0]

    @property
    def path(self) -> str:
        return self[1] + self[0][self[2] :]

    @property
    def size(self) -> int:
        return self[3]

    @property
    def mtime_ns(self) -> int:
        return self[4]

    @property
    def inode(self) -> int:
        return self[5]

    @property
    def ctime_ns(self) -> int:
        return self[6]

    def __repr__(self) -> str:
        return (
            f"LocalFile(rel={self.rel!r}, path={self.path!r}, size={self.size}, mtime_ns={self.mtime_ns}, "
            f"inode={self.inode}, ctime_ns={self.ctime_ns})"
        )


_record = tuple.__new__
"""``_record(LocalFile, (rel, base, 0, size, mtime_ns, inode, ctime_ns))``: a scanned file
whose path is ``base + rel``, built without a Python-level constructor call."""


def stat_file(path: Path | str, rel: str | None = None) -> LocalFile:
    """Stat one file into a :class:`LocalFile` (``rel`` defaults to its name).

    Raises :class:`LocalDataError` when it does not exist or is not a regular file.
    """
    p = os.path.abspath(path)
    try:
        st = os.stat(p)
    except FileNotFoundError:
        raise LocalDataError(f"{p}: file does not exist", hint="create it or fix the reference") from None
    except OSError as exc:
        raise LocalDataError(f"{p}: cannot read: {exc.strerror}") from exc
    if not stat_mod.S_ISREG(st.st_mode):
        raise LocalDataError(f"{p}: not a regular file", hint="reference a file, not a directory")
    return LocalFile(
        rel if rel is not None else os.path.basename(p), p, st.st_size, st.st_mtime_ns, st.st_ino, st.st_ctime_ns
    )


_SCANDIR_FD = os.scandir in os.supports_fd
_DIR_FLAGS = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_CLOEXEC", 0)

MATCH_ALL = {("**/*",), ("**",), ("*", "**/*")}
"""Include lists that select every file."""


def scan_dir(
    root: Path,
    data_dir: Path,
    include: Sequence[str] = ("**/*",),
    exclude: Sequence[str] = (),
    *,
    prehash: Callable[[str], bool] | None = None,
) -> ScanList:
    """List the selected files below ``data_dir`` (see the module docstring for the rules).

    A tree with more than :data:`PARALLEL_AFTER` files is walked on up to 4 processes
    (:mod:`labelsync.local.scanpool`); when ``prehash(base)`` then answers True (the hash
    cache has nothing for it) those processes also read and hash its files
    (:attr:`ScanList.digests`). The result is the same columns, in the same order, with the
    same errors as the one-process walk.

    Raises :class:`LocalDataError` (one line naming the path and the fix) when ``data_dir``
    is missing, not a directory, outside ``root``, unreadable, or holds a symlink that
    leads outside ``root`` or nowhere.
    """
    top = os.path.abspath(data_dir)
    if not os.path.isdir(top):
        what = "is not a directory" if os.path.exists(top) else "does not exist"
        raise LocalDataError(
            f"data directory {top} {what}", hint="create it or fix the data path in the manifest"
        )
    if not is_inside(root, Path(top)):
        raise LocalDataError(
            f"data directory {top} resolves outside the repository {os.path.abspath(root)}",
            hint="keep data inside the repository; do not symlink to outside it",
        )
    inc = compile_patterns(include)
    exc = compile_patterns(exclude)
    # "**/*" (the default) selects every file: skip matching each one against it
    inc_match = inc.fullmatch if inc is not None and tuple(include) not in MATCH_ALL else None
    exc_match = exc.fullmatch if exc is not None else None
    root_real = os.path.realpath(root)
    root_prefix = root_real.rstrip(os.sep) + os.sep

    rules = _Rules(root_real, root_prefix, inc, inc_match, exc_match)
    base = top.rstrip(os.sep) + os.sep  # every file's path is base + rel
    out: _Out = ([], array("q"), array("q"), array("Q"), array("q"))
    # One frame per open directory, deepest last: (its items still to visit, in path order;
    # its descriptor; absolute dir as found; its real path; rel prefix with trailing "/";
    # real paths of the directories above it: a directory symlink to one of them is a loop).
    top_real = os.path.realpath(top)
    stack: list[_Frame] = []
    read_ns = time.time_ns()
    workers = _workers()
    digests: bytes | None = None
    read: array[int] | None = None
    try:
        stack.append(_open_dir(top, top_real, "", frozenset(), rules))
        if not _walk(stack, rules, out, PARALLEL_AFTER if workers > 1 else None):
            from labelsync.local.scanpool import scan_parts

            hash_them = prehash is not None and prehash(base)
            out, digests, read = scan_parts(stack, rules, out, base, workers, hash_them)
    finally:
        for frame in stack:
            if frame[1] >= 0:
                os.close(frame[1])
    return ScanList(base, *out, digests=digests, read_sizes=read, read_ns=read_ns)


PARALLEL_AFTER = 20_000
"""A scan still walking after this many files goes on in parallel (:mod:`.scanpool`)."""


def _workers() -> int:
    try:
        return min(len(os.sched_getaffinity(0)), 4)
    except AttributeError:  # not on Linux
        return min(os.cpu_count() or 1, 4)


class _Rules(NamedTuple):
    """What a walk decides with: the repository's real path (and with a separator) and the
    include/exclude patterns (see :func:`scan_dir`)."""

    root_real: str
    root_prefix: str
    inc: object | None
    inc_match: Callable[[str], object] | None
    exc_match: Callable[[str], object] | None


_Out = tuple[list[str], "array[int]", "array[int]", "array[int]", "array[int]"]


def _walk(stack: list[_Frame], rules: _Rules, out: _Out, limit: int | None = None) -> bool:
    """Walk the frames of ``stack`` (deepest last) in path order, appending the selected
    files to ``out``, closing each frame's descriptor (when not ``-1``) as it is left.
    Returns True when done; False (the stack left as it is, between two items) once ``out``
    holds ``limit`` files or more."""
    rels = out[0]
    while stack:
        items, fd, abs_dir, dir_real, prefix, ancestors = frame = stack[-1]
        while items:
            if limit is not None and len(rels) >= limit:
                return False
            item = items.pop()
            if type(item) is list:  # a run of files, in name order
                _stat_files(item, abs_dir, prefix, rules, out)
                continue
            name, real = item
            stack.append(_open_dir(abs_dir + os.sep + name, real, prefix + name + "/", ancestors | {dir_real}, rules))
            break
        else:
            stack.pop()
            if frame[1] >= 0:
                os.close(frame[1])
    return True


_Frame = tuple[list[Any], int, str, str, str, frozenset[str]]
_name = attrgetter("name")


def _open_dir(abs_dir: str, dir_real: str, prefix: str, ancestors: frozenset[str], rules: _Rules) -> _Frame:
    """List one directory into a frame of :func:`scan_dir`'s walk: its visible entries as
    runs of files (lists of ``DirEntry``, name order) and subdirectories (``(name, real
    path)``), in path order (a directory sorts as its name plus ``/``) and reversed, so that
    ``pop()`` yields the next. Symlinks are checked here (inside the repository, not
    dangling); excluded directories and symlink loops are left out."""
    root_real, root_prefix, exc_match = rules.root_real, rules.root_prefix, rules.exc_match
    dir_fd = -1
    try:
        if _SCANDIR_FD:  # entries' stat is then an fstatat relative to the directory: no path walk
            dir_fd = os.open(abs_dir, _DIR_FLAGS)
            it = os.scandir(dir_fd)
        else:
            it = os.scandir(abs_dir)
        dirs: list[tuple[str, str]] = []
        with it:
            entries = list(it)
        # the common case first, in one comprehension: visible regular files
        files = [e for e in entries if e.is_file(follow_symlinks=False) and e.name[0] != "."]
        if len(files) < len(entries):
            for entry in entries:
                name = entry.name
                if name[0] == "." or entry.is_file(follow_symlinks=False):
                    continue
                if entry.is_symlink():
                    found = abs_dir + os.sep + name
                    real = os.path.realpath(found)
                    if real != root_real and not real.startswith(root_prefix):
                        raise LocalDataError(
                            f"{found} is a symlink to {real}, outside the repository",
                            hint="copy the file into the repository or remove the symlink",
                        )
                    if not os.path.exists(real):
                        raise LocalDataError(f"{found} is a dangling symlink", hint="remove it or fix its target")
                    if not os.path.isdir(real):
                        files.append(entry)
                        continue
                elif entry.is_dir(follow_symlinks=False):
                    real = dir_real + os.sep + name
                else:
                    continue  # sockets, FIFOs, devices
                if real == dir_real or real in ancestors:
                    continue  # a symlink loop
                if exc_match is not None and exc_match(prefix + name):
                    continue
                dirs.append((name, real))
    except OSError as err:
        if dir_fd >= 0:
            os.close(dir_fd)
        raise LocalDataError(f"cannot read directory {abs_dir}: {err.strerror}") from err
    except BaseException:
        if dir_fd >= 0:
            os.close(dir_fd)
        raise
    files.sort(key=_name)
    items: list[Any]
    if not dirs:
        items = [files] if files else []
    else:  # merge: a file "a-b" sorts before the directory "a" ("a/..."), "a0" after it
        keyed = sorted([(f.name, 0, f) for f in files] + [(d[0] + "/", 1, d) for d in dirs])
        items = []
        for _, is_dir, what in keyed:
            if is_dir:
                items.append(what)
            elif items and type(items[-1]) is list:
                items[-1].append(what)
            else:
                items.append([what])
        items.reverse()
    return items, dir_fd, abs_dir, dir_real, prefix, ancestors


def _stat_files(entries: list[os.DirEntry[str]], abs_dir: str, prefix: str, rules: _Rules, out: _Out) -> None:
    """Append the selected regular files among ``entries`` (one directory's, in name order)
    to the columns ``out``: one ``stat`` each (following a symlink), no other call."""
    inc, inc_match, exc_match = rules.inc, rules.inc_match, rules.exc_match
    if inc is None:
        return
    if inc_match is not None or exc_match is not None:
        kept = []
        for e in entries:
            rel = prefix + e.name
            if (inc_match is None or inc_match(rel) is not None) and (exc_match is None or not exc_match(rel)):
                kept.append(e)
        entries = kept
    try:
        sts = [e.stat() for e in entries]
    except OSError:
        for e in entries:  # which one
            try:
                e.stat()
            except OSError as err:
                raise LocalDataError(f"cannot read {abs_dir + os.sep + e.name}: {err.strerror}") from err
        raise
    if not all([st.st_mode & 0o170000 == 0o100000 for st in sts]):  # S_ISREG (not a FIFO behind a symlink)
        pairs = [(e, st) for e, st in zip(entries, sts, strict=True) if st.st_mode & 0o170000 == 0o100000]
        entries, sts = [p[0] for p in pairs], [p[1] for p in pairs]
    rels, sizes, mtimes, inodes, ctimes = out
    rels.extend([prefix + e.name for e in entries])
    sizes.extend([st.st_size for st in sts])
    mtimes.extend([st.st_mtime_ns for st in sts])
    inodes.extend([st.st_ino for st in sts])
    ctimes.extend([st.st_ctime_ns for st in sts])


class ScanList(Sequence[LocalFile]):
    """The files of one scan as columns: the ``rel`` strings (sorted), one shared ``base``
    (the data directory with a trailing separator: a file's path is ``base + rel``) and one
    ``array('q')`` each of sizes, mtimes, inodes and ctimes. About 100 bytes per file with
    its path string, where a tuple per file cost about 300. Indexing and iteration build the
    :class:`LocalFile` asked for (dropped after use by the caller).

    ``digests`` (20 bytes per file) and ``read_sizes`` (bytes read, or minus the ``errno``
    of a failed read) are set when the scan also hashed every file (a cold hash cache, see
    :func:`scan_dir`); ``read_ns`` is the wall clock before the walk began (no file was read
    earlier), the hashing time of those digests for the racy window."""

    __slots__ = ("base", "rels", "sizes", "mtimes", "inodes", "ctimes", "digests", "read_sizes", "read_ns")

    def __init__(self, base: str, rels: list[str], sizes: array[int], mtimes: array[int], inodes: array[int],
                 ctimes: array[int], *, digests: bytes | None = None, read_sizes: array[int] | None = None,
                 read_ns: int = 0) -> None:
        self.base = base
        self.rels = rels
        self.sizes = sizes
        self.mtimes = mtimes
        self.inodes = inodes
        self.ctimes = ctimes
        self.digests = digests
        self.read_sizes = read_sizes
        self.read_ns = read_ns

    def __len__(self) -> int:
        return len(self.rels)

    @overload
    def __getitem__(self, i: int) -> LocalFile: ...

    @overload
    def __getitem__(self, i: slice) -> list[LocalFile]: ...

    def __getitem__(self, i: int | slice) -> LocalFile | list[LocalFile]:
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self.rels)))]
        return _record(LocalFile, (self.rels[i], self.base, 0, self.sizes[i], self.mtimes[i], self.inodes[i], self.ctimes[i]))

    def __iter__(self) -> Iterator[LocalFile]:
        base, new = self.base, _record
        for row in zip(self.rels, self.sizes, self.mtimes, self.inodes, self.ctimes, strict=True):
            yield new(LocalFile, (row[0], base, 0, *row[1:]))


class SortedRels(Container[str]):
    """Membership in a sorted list of ``rel`` strings (a :class:`ScanList`'s column) by
    bisection: no set of every path is built for a few lookups."""

    __slots__ = ("rels",)

    def __init__(self, rels: list[str]) -> None:
        self.rels = rels

    def __contains__(self, rel: object) -> bool:
        if not isinstance(rel, str):
            return False
        rels = self.rels
        i = bisect_left(rels, rel)
        return i < len(rels) and rels[i] == rel


def rel_index(files: Sequence[LocalFile], lookups: int) -> Container[str]:
    """A membership test for the ``rel`` of ``files``, for about ``lookups`` lookups: the
    sorted column itself when that is cheaper (a :class:`ScanList` and few lookups: each
    O(log n)), else a set."""
    if isinstance(files, ScanList):
        return SortedRels(files.rels) if lookups * 8 < len(files.rels) else set(files.rels)
    return {f.rel for f in files}


class Scans:
    """Scan results shared by the steps of one run (validation, then resolution).

    Each data selection ``(data_dir, include, exclude)`` is listed once per run; a failed
    scan is not remembered (the next caller raises the same error). Not for reuse across
    runs: it never notices later changes on disk.
    """

    def __init__(self, prehash: Callable[[str], bool] | None = None) -> None:
        self._memo: dict[tuple[str, str, tuple[str, ...], tuple[str, ...]], ScanList] = {}
        self.prehash = prehash
        """Passed to :func:`scan_dir`: set by a command that hashes what it scans."""

    def scan(self, root: Path, data_dir: Path, include: Sequence[str], exclude: Sequence[str]) -> ScanList:
        """:func:`scan_dir`, remembered."""
        key = (str(root), os.path.abspath(data_dir), tuple(include), tuple(exclude))
        if key not in self._memo:
            self._memo[key] = scan_dir(root, data_dir, include, exclude, prehash=self.prehash)
        return self._memo[key]
