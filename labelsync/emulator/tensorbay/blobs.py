"""Content-addressed blob storage in append-only pack files, shared by all datasets.

The object key ``<datasetId>/<sha1>`` names the blob ``<sha1>``. Creating one file per blob
costs about 0.4 ms of kernel time on a typical VM, more than everything else an upload
costs the emulator; appending to an open file costs a twentieth of that. So:

* each process that stores blobs appends them to its own ``<root>/packs/<token>.pack``
  (a new token per process, and per GiB) and, after the bytes, one 36-byte record
  ``sha1 (20 bytes) | offset (8) | size (8)`` to ``<token>.idx``;
* a reader knows the records it has read; on a miss it reads what other processes have
  appended since (so two emulators on one data directory see each other's blobs);
* a record whose bytes lie past the end of its pack, or a torn last record (a process
  killed mid-write), is not used: a blob exists only once its bytes and its record do.
  Both files are written at offsets the writer keeps, so a write that failed (disk full)
  is overwritten by the next one instead of shifting what follows;
* blobs written by earlier versions as ``<root>/<sha1[:2]>/<sha1>`` files are still read.

Blobs are immutable and never deleted. All methods are thread-safe. A large upload arrives
in a file under ``<root>/incoming/`` (:meth:`BlobStore.incoming`), hashed on the way, and
is copied into the pack by :meth:`BlobStore.put_file` (memory stays bounded).
"""

from __future__ import annotations

import hashlib
import os
import re
import struct
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

SHA1 = re.compile(r"^[0-9a-f]{40}$")
RECORD = struct.Struct(">20sQQ")
PACK_LIMIT = 1 << 30
"""A pack that reaches this size is closed and a new one started."""


def is_sha1(value: object) -> bool:
    """Whether ``value`` is a lowercase 40-hex SHA-1 digest."""
    return isinstance(value, str) and SHA1.match(value) is not None


class _Writer:
    """This process's open pack and index (created on the first write)."""

    def __init__(self, packs: Path) -> None:
        token = f"{os.getpid()}-{os.urandom(6).hex()}"
        self.pack_path = str(packs / f"{token}.pack")
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL
        self.pack = os.open(self.pack_path, flags, 0o644)
        self.index = os.open(str(packs / f"{token}.idx"), flags, 0o644)
        self.offset = 0
        self.index_offset = 0

    def close(self) -> None:
        os.close(self.pack)
        os.close(self.index)


class BlobStore:
    """Blobs keyed by the SHA-1 of their bytes (see the module docstring)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._packs = root / "packs"
        self._packs.mkdir(parents=True, exist_ok=True)
        self._incoming = root / "incoming"
        self._incoming.mkdir(exist_ok=True)
        self._where: dict[str, tuple[str, int, int]] = {}  # sha1 -> (pack path, offset, size)
        self._read_upto: dict[str, int] = {}  # index path -> bytes of it already read
        self._writer: _Writer | None = None
        self._lock = threading.Lock()
        with self._lock:
            self._refresh()

    # -- reading ---------------------------------------------------------------------
    def locate(self, sha1: str) -> tuple[str, int, int] | None:
        """``(file, offset, size)`` of the blob's bytes, or None when it is not stored."""
        found = self._where.get(sha1)
        if found is not None:
            return found
        with self._lock:
            self._refresh()
            found = self._where.get(sha1)
        if found is None:
            legacy = os.path.join(str(self.root), sha1[:2], sha1)
            try:
                found = (legacy, 0, os.stat(legacy).st_size)
            except (FileNotFoundError, NotADirectoryError):
                return None
        return found

    def size(self, sha1: str) -> int | None:
        """The blob's size in bytes, or None when it is not stored."""
        found = self.locate(sha1)
        return None if found is None else found[2]

    def iter_bytes(self, sha1: str, chunk: int = 1 << 20) -> Iterator[bytes]:
        """The blob's bytes in chunks; KeyError when it is not stored."""
        found = self.locate(sha1)
        if found is None:
            raise KeyError(sha1)
        path, offset, left = found
        with open(path, "rb") as handle:
            handle.seek(offset)
            while left > 0:
                data = handle.read(min(chunk, left))
                if not data:
                    return
                left -= len(data)
                yield data

    def _refresh(self) -> None:
        """Read the index records appended since the last call (caller holds the lock).

        The index is read before its pack is measured, so a record whose bytes are not in
        the pack yet (another process between its two writes) is left for the next call.
        """
        for entry in os.scandir(self._packs):
            if not entry.name.endswith(".idx"):
                continue
            start = self._read_upto.get(entry.path, 0)
            pack_path = entry.path[: -len(".idx")] + ".pack"
            try:
                with open(entry.path, "rb") as handle:
                    handle.seek(start)
                    data = handle.read()
                pack_size = os.stat(pack_path).st_size
            except FileNotFoundError:
                continue
            used = 0
            for digest, offset, size in RECORD.iter_unpack(data[: len(data) - len(data) % RECORD.size]):
                if offset + size > pack_size:
                    break
                self._where.setdefault(digest.hex(), (pack_path, offset, size))
                used += RECORD.size
            self._read_upto[entry.path] = start + used

    # -- writing ---------------------------------------------------------------------
    def put(self, sha1: str, data: bytes | memoryview) -> bool:
        """Store ``data`` under ``sha1``; False (nothing stored) if the digest differs."""
        if hashlib.sha1(data).hexdigest() != sha1:
            return False

        def write(pack: int, offset: int) -> int:
            with memoryview(data) as view:
                written = 0
                while written < len(view):
                    written += os.pwrite(pack, view[written:], offset + written)
            return len(data)

        return self._append(sha1, write)

    def incoming(self) -> Path:
        """A new, empty file to receive an upload into (pass it to :meth:`put_file`)."""
        fd, name = tempfile.mkstemp(dir=self._incoming, suffix=".part")
        os.close(fd)
        return Path(name)

    def put_file(self, sha1: str, path: Path) -> None:
        """Store the bytes of ``path`` (already hashed to ``sha1`` by the caller) and remove it."""
        try:
            size = path.stat().st_size

            def write(pack: int, offset: int) -> int:
                with path.open("rb") as handle:
                    copied = 0
                    while copied < size:
                        block = handle.read(min(1 << 20, size - copied))
                        if not block:
                            raise OSError(f"{path} shrank while being stored")
                        done = 0
                        while done < len(block):
                            done += os.pwrite(pack, block[done:], offset + copied + done)
                        copied += len(block)
                return size

            self._append(sha1, write)
        finally:
            path.unlink(missing_ok=True)

    def _append(self, sha1: str, write: Callable[[int, int], int]) -> bool:
        """Append a blob: ``write(pack fd, offset)`` writes its bytes and returns their size."""
        if sha1 in self._where:
            return True
        with self._lock:
            if sha1 in self._where:
                return True
            writer = self._writer
            if writer is None or writer.offset >= PACK_LIMIT:
                if writer is not None:
                    writer.close()
                writer = self._writer = _Writer(self._packs)
            offset = writer.offset
            size = write(writer.pack, offset)
            record = RECORD.pack(bytes.fromhex(sha1), offset, size)
            done = 0
            while done < len(record):  # at a known offset: a failed write is overwritten by the next
                done += os.pwrite(writer.index, record[done:], writer.index_offset + done)
            writer.offset += size
            writer.index_offset += len(record)
            self._where[sha1] = (writer.pack_path, offset, size)
        return True

    def close(self) -> None:
        """Close this process's pack (a later write opens a new one)."""
        with self._lock:
            if self._writer is not None:
                self._writer.close()
                self._writer = None
