"""Path safety: a path declared in a manifest must stay inside the repository.

Contract (design brief, "Manifest v1"): a declared path is written relative to the
manifest file's directory and, once resolved, must name something inside the repository
root. Three things are refused:

* absolute paths (``/data``, ``~/data`` is *not* expanded and so is simply relative);
* ``..`` components that climb out of the root (``../other-repo/data``), lexically;
* symlinks, of a file or of any directory on the way, that resolve outside the root.

``..`` that stays inside the root (``a/../b``) is allowed. Symlinks that resolve inside
the root are allowed. Whether the path *exists* is a separate question: :func:`resolve_inside`
does not require it, :func:`check_declared` reports it when ``must_exist`` is set.

Two forms of the same check: :func:`resolve_inside` raises :class:`LocalDataError` with
one line naming the path and the fix (for code paths that need a value), and
:func:`check_declared` returns :class:`Diagnostic` values (for ``labelsync validate``).
"""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath

from labelsync.diagnostics import Diagnostic
from labelsync.errors import LocalDataError


class Inside:
    """Proves many declared paths (relative to directory ``base``) stay inside ``root``,
    as :func:`resolve_inside` does for one: the same answers and the same errors, but the
    real path of each distinct parent directory is resolved once (a saved plan names every
    file of a large tree: one ``lstat`` per file then, not one per path component)."""

    def __init__(self, root: Path, base: Path) -> None:
        self.base = base
        self.root_abs = os.path.abspath(root)
        self.root_real = os.path.realpath(root)
        self._base_abs = os.path.abspath(base)
        self._dirs: dict[str, str] = {}

    def problem(self, declared: str) -> tuple[tuple[str, str] | None, str]:
        """``((message, hint) or None when safe, the real path)`` of ``declared``."""
        if not declared or declared.strip() == "":
            return (f"path {declared!r} is empty", "name a file or directory relative to the manifest file"), ""
        if "\x00" in declared:
            return (f"path {declared!r} contains a NUL byte", "remove it"), ""
        if PurePosixPath(declared).is_absolute() or os.path.isabs(declared):
            return (f"path {declared!r} is absolute", "write it relative to the manifest file, inside the repository"), ""
        # Lexical check first: `..` that climbs above the root, whatever the file system says.
        if not _is_within(os.path.normpath(os.path.join(self._base_abs, declared)), self.root_abs):
            return (f"path {declared!r} climbs out of the repository with '..'", f"keep it inside {self.root_abs}"), ""
        # Then the real path: symlinks (of the file or a parent directory) must not lead out.
        real = self._real(os.path.join(self.base, declared))
        if not _is_within(real, self.root_real):
            return (
                f"path {declared!r} is a symlink (or goes through one) that points outside the repository, to {real}",
                "copy the data into the repository or point the symlink inside it",
            ), real
        return None, real

    def resolve(self, declared: str) -> Path:
        """:func:`resolve_inside` of ``declared``."""
        problem, real = self.problem(declared)
        if problem is not None:
            message, hint = problem
            raise LocalDataError(message, hint=hint)
        return Path(real)

    def _real(self, path: str) -> str:
        """``os.path.realpath(path)``, with the parent directory's real path remembered
        (realpath resolves left to right, so a resolved prefix resolves the same again)."""
        head, name = os.path.split(path)
        if name in ("", ".", ".."):
            return os.path.realpath(path)
        real_head = self._dirs.get(head)
        if real_head is None:
            real_head = self._dirs[head] = os.path.realpath(head or ".")
        joined = os.path.join(real_head, name)
        return os.path.realpath(joined) if os.path.islink(joined) else joined


def _is_within(path: str, root: str) -> bool:
    """True when ``path`` equals ``root`` or lies below it (both absolute, normalised)."""
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def resolve_inside(root: Path, base: Path, declared: str) -> Path:
    """Resolve ``declared`` (relative to directory ``base``) and prove it stays in ``root``.

    Returns the absolute, symlink-free path. Raises :class:`LocalDataError` when the path is
    empty, absolute, climbs out with ``..`` or resolves through a symlink outside ``root``.
    The path need not exist. For many paths under one ``root`` and ``base``, use :class:`Inside`.
    """
    return Inside(root, base).resolve(declared)


def is_inside(root: Path, path: Path) -> bool:
    """True when the real path of ``path`` (symlinks resolved) lies inside ``root``."""
    return _is_within(os.path.realpath(path), os.path.realpath(root))


def check_declared(
    root: Path,
    base: Path,
    declared: str,
    *,
    file: str,
    line: int = 0,
    column: int = 0,
    json_path: str = "",
    must_exist: str | None = None,
) -> list[Diagnostic]:
    """Validate one declared path; return diagnostics instead of raising.

    ``file``/``line``/``column``/``json_path`` say where the path was declared (the
    manifest). ``must_exist`` is ``"dir"``, ``"file"`` or ``None`` (no existence check).
    An empty list means the path is safe (and exists, when asked).
    """
    problem, _ = Inside(root, base).problem(declared)
    if problem is not None:
        message, hint = problem
        return [Diagnostic(file, line, column, message, json_path, hint)]
    if must_exist is not None:
        target = Path(base, declared)
        if must_exist == "dir" and not target.is_dir():
            what = "is not a directory" if target.exists() else "does not exist"
            return [
                Diagnostic(
                    file,
                    line,
                    column,
                    f"data directory {declared!r} {what}",
                    json_path,
                    "create it or fix the path (relative to the manifest file)",
                )
            ]
        if must_exist == "file" and not target.is_file():
            what = "is not a file" if target.exists() else "does not exist"
            return [
                Diagnostic(
                    file,
                    line,
                    column,
                    f"file {declared!r} {what}",
                    json_path,
                    "create it or fix the path (relative to the manifest file)",
                )
            ]
    return []
