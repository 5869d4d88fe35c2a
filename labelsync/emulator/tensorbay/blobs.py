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
        self._tmp = root / "tmp"
        self._tmp.mkdir(parents=True, exist_ok=True)

    def path(self, sha1: str) -> Path:
        """Where the blob ``sha1`` lives (whether or not it exists)."""
        return self.root / sha1[:2] / sha1

    def size(self, sha1: str) -> int | None:
        """The blob's size in bytes, or None when it is not stored."""
        try:
            return os.stat(self.path(sha1)).st_size
        except FileNotFoundError:
            return None

    def put(self, sha1: str, data: bytes) -> bool:
        """Store ``data`` under ``sha1``; False (nothing stored) if the digest differs."""
        if hashlib.sha1(data).hexdigest() != sha1:
            return False
        target = self.path(sha1)
        if target.exists():
            return True
        target.parent.mkdir(exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self._tmp)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(tmp, target)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
        return True
