"""The remote's items at the base, split by shard: listed once by ``--prepare``, read by each shard.

``--prepare`` holds the branch's lock, so until ``--finish`` the remote changes only by the
shards' own writes, and each shard writes only its own paths (:func:`~.shardspec.shard_of`).
What shard I must diff against, the base commit's items of its share, is therefore known
at prepare time. :func:`write_shares` writes it for every shard into one file next to
``shards.json`` (``shards.json`` -> ``shards.live``, see :func:`live_name`), and returns the
``live`` block that ``shards.json`` records: the file's name and, per shard, its section's
``[offset, length, rows, digest]``. A shard reads only its section (:func:`read_share`:
its ``length`` bytes at ``offset``, a chunk at a time, twice: the digest, then the rows), so
N shards over M items cost one listing in all instead of N.

The file: ``LIVE_MAGIC`` then N sections, each an independent zlib stream of JSON lines,
one per item of that shard, in segment then path order: ``[segment, path, checksum,
size]`` for a bare file (``checksum``/``size`` null when the server reported none), or
``[segment, path, checksum, size, label, timestamp, frame id, sensor]``. The ``digest``
(BLAKE2b-128 of the section's bytes) binds the section to its ``shards.json``. Memory while
writing: the listing's columns plus 8 bytes per item (the shard order), and one section's
compression buffer; while reading: one section's columns.

A shard whose section is absent, cut short or not the one ``shards.json`` names falls back
to listing the remote itself (:func:`read_share` says why); it never plans from a wrong
share.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import zlib
from array import array
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from labelsync.columns import ItemTable, TableBuilder
from labelsync.engine.shardspec import shard_of
from labelsync.errors import UsageError
from labelsync.state import Blob, Item, Live

LIVE_MAGIC = b"labelsync-shard-live/v1\n"
_STR = json.encoder.encode_basestring
_CHUNK = 1 << 20


def live_name(spec_name: str) -> str:
    """The share file's name for the shards file ``spec_name`` (``shards.json`` -> ``shards.live``)."""
    stem = spec_name[: -len(".json")] if spec_name.endswith(".json") else spec_name
    return stem + ".live"


def _row(segment: str, item: Item) -> list[Any]:
    blob = item.blob
    row: list[Any] = [segment, item.remote_path, blob.checksum if blob else None, blob.size if blob else None]
    if item.label or item.timestamp is not None or item.frame_id is not None or item.sensor_name is not None:
        row += [item.label or {}, item.timestamp, item.frame_id, item.sensor_name]
    return row


def _line(segment: str, items: ItemTable, i: int) -> str:
    """Row ``i`` of ``items`` as its JSON line (``segment`` already JSON): a bare row straight
    from the columns, any other through :func:`_row`."""
    size = items.sizes[i]
    if items.is_plain(i) and size >= 0:
        return f'[{segment},{_STR(items.paths[i])},"{items.sums[20 * i : 20 * i + 20].hex()}",{size}]'
    return json.dumps(_row(json.loads(segment), items.item(i)), separators=(",", ":"), ensure_ascii=False)


def _order(segments: list[tuple[str, ItemTable]], shards: int) -> list[array[int]]:
    """Per shard (0-based), its rows as ``segment index << 40 | row index``, in order."""
    out = [array("q") for _ in range(shards)]
    for s, (_, items) in enumerate(segments):
        for i, path in enumerate(items):
            out[shard_of(path, shards) - 1].append(s << 40 | i)
    return out


def write_shares(path: Path, live: Live, shards: int) -> dict[str, Any]:
    """Write every shard's share of ``live`` to ``path`` atomically; the ``live`` block of
    ``shards.json`` (see the module docstring). :class:`UsageError` when it cannot be written."""
    dataset = live.dataset
    segments = sorted(dataset.segments.items()) if dataset is not None else []
    tables = [(name, seg.items if isinstance(seg.items, ItemTable) else ItemTable.from_items(seg.items.values())) for name, seg in segments]
    order = _order(tables, shards)
    names = [_STR(name) for name, _ in tables]
    sections: list[list[Any]] = []
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror or exc}", hint="choose a writable directory for -o") from exc
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(LIVE_MAGIC)
            offset = len(LIVE_MAGIC)
            for rows in order:
                packer, digest, length = zlib.compressobj(6), hashlib.blake2b(digest_size=16), 0
                lines: list[str] = []
                for key in rows:
                    s, i = key >> 40, key & (1 << 40) - 1
                    lines.append(_line(names[s], tables[s][1], i))
                    if len(lines) >= 4096:
                        length += _put(fh, digest, packer.compress(("\n".join(lines) + "\n").encode()))
                        lines = []
                if lines:
                    length += _put(fh, digest, packer.compress(("\n".join(lines) + "\n").encode()))
                length += _put(fh, digest, packer.flush())
                sections.append([offset, length, len(rows), digest.hexdigest()])
                offset += length
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise UsageError(f"cannot write {path}: {exc.strerror or exc}", hint="choose a writable directory for -o") from exc
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return {
        "file": path.name, "exists": dataset is not None, "verified": live.verified,
        "segments": [name for name, _ in segments], "sections": sections,
    }


def _put(fh: Any, digest: Any, data: bytes) -> int:
    if data:
        fh.write(data)
        digest.update(data)
    return len(data)


def read_share(spec_path: Path, block: Mapping[str, Any], index: int) -> tuple[dict[str, ItemTable] | None, str]:
    """``(shard index's items per segment, "")`` from the share file next to ``spec_path``, or
    ``(None, why)`` when there is none to trust (absent, unreadable, cut short, another one)."""
    if not block:
        return None, f"{spec_path.name} records no remote share (written by an older labelsync)"
    path = spec_path.parent / str(block.get("file") or live_name(spec_path.name))
    try:
        offset, length, rows, want = block["sections"][index - 1]
    except (KeyError, IndexError, TypeError, ValueError):
        return None, f"{spec_path.name} has no share for shard {index}"
    try:
        with path.open("rb") as fh:
            if fh.read(len(LIVE_MAGIC)) != LIVE_MAGIC:
                return None, f"{path.name} is not a share file"
            # two passes over the section, a chunk at a time: its digest, then its rows
            digest, got = hashlib.blake2b(digest_size=16), 0
            for chunk in _chunks(fh, int(offset), int(length)):
                digest.update(chunk)
                got += len(chunk)
            if got != length or digest.hexdigest() != want:
                return None, f"{path.name} does not match {spec_path.name} (from another --prepare?)"
            try:
                tables = _tables(_lines(_chunks(fh, int(offset), int(length))), block.get("segments") or [])
            except (ValueError, TypeError, zlib.error) as exc:
                return None, f"{path.name}: unreadable share of shard {index} ({exc})"
    except FileNotFoundError:
        return None, f"no {path.name} next to {spec_path.name} (ship it with it)"
    except OSError as exc:
        return None, f"{path.name}: {exc.strerror or exc}"
    if sum(len(t) for t in tables.values()) != rows:
        return None, f"{path.name}: the share of shard {index} lacks rows"
    return tables, ""


def _chunks(fh: Any, offset: int, length: int) -> Iterator[bytes]:
    """The ``length`` bytes at ``offset`` of ``fh`` (fewer at the end of a cut-short file)."""
    fh.seek(offset)
    while length > 0:
        chunk = fh.read(min(_CHUNK, length))
        if not chunk:
            return
        length -= len(chunk)
        yield chunk


def _lines(chunks: Iterator[bytes]) -> Iterator[str]:
    unpacker, rest = zlib.decompressobj(), b""
    for chunk in chunks:
        rest += unpacker.decompress(chunk)
        *lines, rest = rest.split(b"\n")
        yield from (line.decode() for line in lines)
    rest += unpacker.flush()
    if rest.strip():
        yield from (line.decode() for line in rest.split(b"\n") if line)


def _tables(lines: Iterator[str], names: list[str]) -> dict[str, ItemTable]:
    builders = {str(name): TableBuilder() for name in names}
    for line in lines:
        row = json.loads(line)
        segment, path, checksum, size = row[:4]
        builder = builders.setdefault(str(segment), TableBuilder())
        if len(row) == 4:
            builder.add_plain(str(path), checksum, size)
        else:
            label, timestamp, frame_id, sensor = row[4:8]
            blob = Blob(str(checksum), int(size)) if checksum is not None and size is not None else None
            builder.add(Item(str(path), blob, label or {}, timestamp, frame_id, sensor))
    return {name: b.table() for name, b in builders.items()}
