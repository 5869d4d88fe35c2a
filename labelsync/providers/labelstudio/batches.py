"""Cutting uploads into multipart requests within Label Studio's limits (``api/labelstudio.md`` §4)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from labelsync import errors

MAX_FILES_PER_REQUEST = 100
"""``DATA_UPLOAD_MAX_NUMBER_FILES``: more files in one multipart request answer 500."""
MAX_BYTES_PER_REQUEST = 250 * 1024 * 1024
"""``DATA_UPLOAD_MAX_MEMORY_SIZE``: the size limit of one request."""
PART_OVERHEAD = 1024
"""Bytes counted per multipart part on top of its content (boundary, part headers)."""


@dataclass(frozen=True)
class UploadFile:
    """One file to upload: ``name`` is the file name sent (Label Studio prefixes it with 8
    random hex digits and checks its extension), ``content`` the bytes or a path to read."""

    name: str
    content: bytes | Path
    size: int

    @classmethod
    def from_path(cls, path: Path, name: str | None = None) -> UploadFile:
        return cls(name or path.name, path, path.stat().st_size)


def upload_batches(
    files: Sequence[UploadFile], *, max_files: int = MAX_FILES_PER_REQUEST, max_bytes: int = MAX_BYTES_PER_REQUEST
) -> list[list[UploadFile]]:
    """``files`` cut in order into requests of at most ``max_files`` files and ``max_bytes``
    (content plus :data:`PART_OVERHEAD` per file). A file too large for any request is a
    :class:`~labelsync.errors.LocalDataError`."""
    batches: list[list[UploadFile]] = []
    current: list[UploadFile] = []
    used = 0
    for file in files:
        cost = file.size + PART_OVERHEAD
        if cost > max_bytes:
            raise errors.LocalDataError(
                f"{file.name}: {file.size:,} bytes is more than Label Studio accepts in one request "
                f"({max_bytes - PART_OVERHEAD:,} bytes)",
                hint="raise DATA_UPLOAD_MAX_MEMORY_SIZE on the Label Studio server, or leave the file out",
            )
        if current and (len(current) >= max_files or used + cost > max_bytes):
            batches.append(current)
            current, used = [], 0
        current.append(file)
        used += cost
    if current:
        batches.append(current)
    return batches
