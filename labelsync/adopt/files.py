"""New files only: what one ``labelsync import`` writes, and how it is taken back.

:class:`NewFiles` refuses a target that exists before anything is written
(:meth:`NewFiles.refuse_existing`), creates each file atomically (a temporary file in the
same directory, flushed, then hard-linked into place, so an existing file is never
replaced and a file is either absent or complete), and remembers what it created, the
directories too. :meth:`NewFiles.rollback` removes all of it, so a failed import leaves the
directory as it was.
"""

from __future__ import annotations

import errno
import os
import shutil
import uuid
from collections.abc import Iterable
from pathlib import Path

from labelsync.errors import LocalDataError, UsageError


class NewFiles:
    """The files and directories one import creates (see the module docstring)."""

    def __init__(self, show: Path) -> None:
        self.show = show
        """Paths in messages are relative to this directory when they are under it."""
        self.created: list[Path] = []
        self.trees: list[Path] = []

    def display(self, path: Path) -> str:
        try:
            return str(path.relative_to(self.show))
        except ValueError:
            return str(path)

    def refuse_existing(self, paths: Iterable[Path]) -> None:
        """:class:`UsageError` naming the first of ``paths`` that exists (a file or a directory)."""
        for path in paths:
            if path.exists() or path.is_symlink():
                raise UsageError(f"{self.display(path)} already exists; import never overwrites a file",
                                 hint="choose a new --dir, or move that path aside")

    def mkdir(self, path: Path) -> None:
        """Create ``path`` and its missing parents, remembering the topmost one created."""
        missing = [p for p in (path, *path.parents) if not p.exists()]
        if missing:
            path.mkdir(parents=True)
            self.trees.append(missing[-1])

    def claim(self, path: Path) -> None:
        """Remember ``path`` (a file or directory another writer created) for :meth:`rollback`."""
        self.trees.append(path)

    def move_in(self, source: Path, path: Path) -> None:
        """Rename ``source`` (a staged file or directory on the same file system) to the new
        ``path``; :class:`UsageError` if ``path`` exists."""
        self.refuse_existing([path])
        self.mkdir(path.parent)
        try:
            os.rename(source, path)
        except OSError as exc:
            raise LocalDataError(f"cannot write {self.display(path)}: {exc.strerror or exc}",
                                 hint="import into a writable directory; nothing was kept") from exc
        self.trees.append(path)

    def create(self, path: Path, data: bytes) -> None:
        """Write ``data`` to the new file ``path`` atomically; :class:`UsageError` if it exists."""
        self.mkdir(path.parent)
        tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            try:
                os.link(tmp, path)
            except FileExistsError:
                self.refuse_existing([path])
            except OSError as exc:
                if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV):
                    raise
                self.refuse_existing([path])  # no hard links here: check, then rename
                os.replace(tmp, path)
            self.created.append(path)
        except OSError as exc:
            raise LocalDataError(f"cannot write {self.display(path)}: {exc.strerror or exc}",
                                 hint="import into a writable directory with free space; nothing was kept") from exc
        finally:
            tmp.unlink(missing_ok=True)

    def rollback(self) -> None:
        """Remove every file and directory created, newest first (errors ignored)."""
        for path in reversed(self.created):
            try:
                path.unlink(missing_ok=True)
            except OSError:
                pass
        for tree in reversed(self.trees):
            if tree.is_dir() and not tree.is_symlink():
                shutil.rmtree(tree, ignore_errors=True)
            else:
                try:
                    tree.unlink(missing_ok=True)
                except OSError:
                    pass
