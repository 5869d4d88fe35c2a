"""A deterministic zip of a dataset's data files: the same bytes for the same input.

Whatever the order the entries are given in, the files' mtimes, permissions or owner on
disk, or the machine, :func:`write_zip` produces the same archive for the same
``(arcname, content)`` pairs:

* entries sorted by arcname (``/`` separators), no directory entries;
* every timestamp 1980-01-01 00:00:00 (the zip epoch), no extra fields (no extended
  timestamps, no uid/gid);
* ``create_system`` 3 (Unix) and permissions ``-rw-r--r--`` for every entry;
* every entry stored, not deflated: deflate output differs between zlib builds (zlib-ng,
  the default on some distributions, compresses differently), and a resumed upload must
  continue with exactly the bytes the first run began; most data (images, video, point
  clouds) is compressed already;
* zip64 records only when a size calls for it (decided from the size, not the stream).
"""

from __future__ import annotations

import hashlib
import os
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from labelsync.errors import LocalDataError

EPOCH = (1980, 1, 1, 0, 0, 0)
MODE = 0o100644
BLOCK = 1024 * 1024


@dataclass(frozen=True, slots=True)
class ZipResult:
    """The archive written: its path, size in bytes and SHA-256 hex digest."""

    path: Path
    size: int
    sha256: str


def _info(arcname: str, size: int) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(arcname, date_time=EPOCH)
    info.create_system = 3
    info.external_attr = MODE << 16
    info.file_size = size
    info.compress_type = zipfile.ZIP_STORED
    return info


def write_zip(entries: Iterable[tuple[str, str | os.PathLike[str]]], dest: Path) -> ZipResult:
    """Write the files ``(arcname, source path)`` to the zip ``dest`` (see the module docstring).

    Raises :class:`LocalDataError` for a duplicate or unsafe arcname, or an unreadable source.
    """
    ordered = sorted((str(a), Path(s)) for a, s in entries)
    for (a, _), (b, _) in zip(ordered, ordered[1:], strict=False):
        if a == b:
            raise LocalDataError(f"two data files would be zipped as {a!r}")
    with zipfile.ZipFile(dest, "w", allowZip64=True) as archive:
        for arcname, source in ordered:
            parts = PurePosixPath(arcname).parts
            if not parts or arcname.startswith("/") or "\\" in arcname or any(p in (".", "..") for p in parts):
                raise LocalDataError(f"cannot zip data file {arcname!r}: not a safe relative path")
            try:
                size = source.stat().st_size
                with source.open("rb") as src, archive.open(_info(arcname, size), "w") as out:
                    while block := src.read(BLOCK):
                        out.write(block)
            except OSError as exc:
                raise LocalDataError(f"cannot read data file {source}: {exc.strerror}", hint="run plan again") from exc
    digest = hashlib.sha256()
    with dest.open("rb") as fh:
        while block := fh.read(BLOCK):
            digest.update(block)
    return ZipResult(dest, dest.stat().st_size, digest.hexdigest())
