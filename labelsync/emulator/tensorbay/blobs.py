"""Content-addressed blob storage: one file per SHA-1, written atomically.

Layout: ``<root>/<sha1[:2]>/<sha1>``. A blob is written to a temporary file in
``<root>/tmp`` and renamed into place, so a reader never sees a partial blob and two
concurrent writers of the same content both succeed. Storage is shared by all datasets:
the object key ``<datasetId>/<sha1>`` names the blob ``<sha1>``.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import tempfile
from pathlib import Path

SHA1 = re.compile(r"^[0-9a-f]{40}$")


def is_sha1(value: object) -> bool:
    """Whether ``value`` is a lowercase 40-hex SHA-1 digest."""
    return isinstance(value, str) and SHA1.match(value) is not None


class BlobStore:
    """Blobs keyed by the SHA-1 of their bytes."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._root = str(root)
        self._tmp = root / "tmp"
        self._tmp.mkdir(parents=True, exist_ok=True)
        self._sizes: dict[str, int] = {}  # blobs are immutable and never deleted: safe to cache
        self._dirs: set[str] = set()

    def path(self, sha1: str) -> Path:
        """Where the blob ``sha1`` lives (whether or not it exists)."""
        return Path(self._path(sha1))

    def _path(self, sha1: str) -> str:
        return os.path.join(self._root, sha1[:2], sha1)

    def size(self, sha1: str) -> int | None:
        """The blob's size in bytes, or None when it is not stored."""
        known = self._sizes.get(sha1)
        if known is not None:
            return known
        try:
            size = os.stat(self._path(sha1)).st_size
        except FileNotFoundError:
            return None
        self._sizes[sha1] = size
        return size

    def put(self, sha1: str, data: bytes) -> bool:
        """Store ``data`` under ``sha1``; False (nothing stored) if the digest differs."""
        if hashlib.sha1(data).hexdigest() != sha1:
            return False
        if self.size(sha1) is not None:
            return True
        target = self._path(sha1)
        if sha1[:2] not in self._dirs:
            os.makedirs(os.path.dirname(target), exist_ok=True)
            self._dirs.add(sha1[:2])
        fd, tmp = tempfile.mkstemp(dir=self._tmp)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(tmp, target)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
        self._sizes[sha1] = len(data)
        return True
