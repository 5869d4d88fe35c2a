"""Data items of a version: upsert (callbacks), labels, delete, copy, list (paged) and frames.

Functions take a connection inside a transaction (:mod:`.db`) and a version ID, like
:mod:`.content`; items are upserted by ``remotePath`` (normal datasets) or ``frameId`` +
``sensorName`` (fusion datasets), and a callback replaces the file *and* the whole label.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence
from typing import Any

from labelsync.emulator.tensorbay.content import STRATEGIES, Item, need_segment
from labelsync.emulator.tensorbay.errors import internal, invalid, not_found

_dumps = json.JSONEncoder(separators=(",", ":")).encode


def upsert_items(
    conn: sqlite3.Connection, version: int, segment: str, fusion: bool, items: Sequence[Item]
) -> None:
    """``multi/callback``: upsert every item in one statement batch (file and label replaced)."""
    need_segment(conn, version, segment)
    rows: list[tuple[Any, ...]] = []
    if fusion:
        sensors = {
            r[0]
            for r in conn.execute(
                "SELECT name FROM sensors WHERE version_id = ? AND segment = ?", (version, segment)
            )
        }
        for item in items:
            if not item.frame_id or not item.sensor_name:
                raise invalid("fusion data needs 'frameId' and 'sensorName'")
            if item.sensor_name not in sensors:
                raise invalid(f"sensor '{item.sensor_name}' does not exist in segment '{segment}'")
            slot = f"{item.frame_id}\x00{item.sensor_name}"
            rows.append(
                (
                    version,
                    segment,
                    slot,
                    item.remote_path,
                    item.frame_id,
                    item.sensor_name,
                    item.checksum,
                    item.file_size,
                    item.timestamp,
                    item.label,
                )
            )
    else:
        for item in items:
            if item.frame_id or item.sensor_name:
                raise invalid("'frameId'/'sensorName' are for fusion datasets only")
            rows.append(
                (
                    version,
                    segment,
                    item.remote_path,
                    item.remote_path,
                    None,
                    None,
                    item.checksum,
                    item.file_size,
                    item.timestamp,
                    item.label,
                )
            )
    conn.executemany("INSERT OR REPLACE INTO items VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)


def set_labels(
    conn: sqlite3.Connection, version: int, segment: str, labels: Iterable[tuple[str, dict[str, Any]]]
) -> None:
    """``multi/data/labels``: replace labels by remotePath; any unknown path -> 404, nothing changed."""
    need_segment(conn, version, segment)
    for remote_path, label in labels:
        cur = conn.execute(
            "UPDATE items SET label = ? WHERE version_id = ? AND segment = ? AND remote_path = ?",
            (json.dumps(label), version, segment, remote_path),
        )
        if cur.rowcount == 0:
            raise not_found(f"data '{remote_path}' does not exist in segment '{segment}'")


def delete_items(conn: sqlite3.Connection, version: int, segment: str, remote_paths: Sequence[str]) -> None:
    """``DELETE data``: remove items by remotePath; 404 for an unknown path."""
    need_segment(conn, version, segment)
    for path in remote_paths:
        cur = conn.execute(
            "DELETE FROM items WHERE version_id = ? AND segment = ? AND remote_path = ?",
            (version, segment, path),
        )
        if cur.rowcount == 0:
            raise not_found(f"data '{path}' does not exist in segment '{segment}'")


def copy_items(
    conn: sqlite3.Connection,
    source: tuple[int, str, Sequence[str]],
    target: tuple[int, str, Sequence[str]],
    strategy: str,
    move: bool,
) -> None:
    """``data?multipleCopy`` / ``data?multipleMove`` (normal datasets).

    Every source path must exist (404). A target path that exists: ``abort`` -> 500 before
    anything changes, ``override`` -> replaced, ``skip`` -> left alone (a move still removes
    the source, as the official SDK's own test expects).
    """
    (src_version, src_segment, src_paths), (dst_version, dst_segment, dst_paths) = source, target
    if strategy not in STRATEGIES:
        raise invalid("'strategy' must be abort, override or skip")
    if len(src_paths) != len(dst_paths):
        raise invalid("source and target 'remotePaths' differ in length")
    need_segment(conn, src_version, src_segment)
    need_segment(conn, dst_version, dst_segment)
    rows = []
    skipped = []
    for src, dst in zip(src_paths, dst_paths, strict=True):
        row = conn.execute(
            "SELECT * FROM items WHERE version_id = ? AND segment = ? AND slot = ?",
            (src_version, src_segment, src),
        ).fetchone()
        if row is None:
            raise not_found(f"data '{src}' does not exist in segment '{src_segment}'")
        exists = conn.execute(
            "SELECT 1 FROM items WHERE version_id = ? AND segment = ? AND slot = ?",
            (dst_version, dst_segment, dst),
        ).fetchone()
        if exists and (dst_version, dst_segment, dst) != (src_version, src_segment, src):
            if strategy == "abort":
                raise internal(f"data '{dst}' already exists in segment '{dst_segment}' (strategy abort)")
            if strategy == "skip":
                if move:  # the target is kept and the source is gone (the official SDK's test_move_data)
                    skipped.append(row)
                continue
        rows.append((row, dst))
    for row in skipped:
        conn.execute(
            "DELETE FROM items WHERE version_id = ? AND segment = ? AND slot = ?",
            (src_version, src_segment, row["slot"]),
        )
    for row, dst in rows:
        if move:
            conn.execute(
                "DELETE FROM items WHERE version_id = ? AND segment = ? AND slot = ?",
                (src_version, src_segment, row["slot"]),
            )
        conn.execute(
            "INSERT OR REPLACE INTO items VALUES (?, ?, ?, ?, NULL, NULL, ?, ?, ?, ?)",
            (
                dst_version,
                dst_segment,
                dst,
                dst,
                row["checksum"],
                row["file_size"],
                row["timestamp"],
                row["label"],
            ),
        )


def list_items(
    conn: sqlite3.Connection,
    version: int,
    segment: str,
    offset: int,
    limit: int,
    remote_path: str | None = None,
) -> tuple[list[sqlite3.Row], int]:
    """Items by slot order (remotePath, or frameId then sensor); one path when given."""
    need_segment(conn, version, segment)
    if remote_path is not None:
        rows = conn.execute(
            "SELECT * FROM items WHERE version_id = ? AND segment = ? AND remote_path = ? ORDER BY slot",
            (version, segment, remote_path),
        ).fetchall()
        return rows, len(rows)
    slots = _slots(conn, version, segment)
    if offset >= len(slots):
        return [], len(slots)
    rows = conn.execute(
        "SELECT * FROM items WHERE version_id = ? AND segment = ? AND slot >= ? ORDER BY slot LIMIT ?",
        (version, segment, slots[offset], limit),
    ).fetchall()
    return rows, len(slots)


_SLOT_MEMO_SIZE = 8


def _slots(conn: sqlite3.Connection, version: int, segment: str) -> list[Any]:
    """The segment's item slots in order, remembered until the database changes.

    Paging 100,000 items with COUNT(*) and OFFSET costs O(n) per page; with the ordered
    slots at hand a page is one index seek. The memo is the connection's own
    (:class:`~labelsync.emulator.tensorbay.db.Connection`), so another database never sees
    it; its generation is this connection's change count plus SQLite's ``data_version``
    (which moves when another process commits), so a write from anywhere invalidates it.
    """
    memo: dict[Any, Any] = getattr(conn, "memo", {})
    generation = (conn.total_changes, int(conn.execute("PRAGMA data_version").fetchone()[0]))
    key = ("slots", version, segment)
    found = memo.get(key)
    if found is not None and found[0] == generation:
        return found[1]
    slots = [r[0] for r in conn.execute(
        "SELECT slot FROM items WHERE version_id = ? AND segment = ? ORDER BY slot", (version, segment)
    )]
    if len(memo) >= _SLOT_MEMO_SIZE:
        memo.pop(next(iter(memo)))
    memo[key] = (generation, slots)
    return slots


def list_frames(
    conn: sqlite3.Connection,
    version: int,
    segment: str,
    offset: int,
    limit: int,
    remote_path: str | None = None,
) -> tuple[list[tuple[str, list[sqlite3.Row]]], int]:
    """Frames by frameId, each with its items by sensor; paging counts frames."""
    need_segment(conn, version, segment)
    if remote_path is not None:
        ids = [
            r[0]
            for r in conn.execute(
                "SELECT DISTINCT frame_id FROM items WHERE version_id = ? AND segment = ? AND remote_path = ? ORDER BY frame_id",
                (version, segment, remote_path),
            )
        ]
        total = len(ids)
    else:
        total = conn.execute(
            "SELECT COUNT(DISTINCT frame_id) FROM items WHERE version_id = ? AND segment = ?",
            (version, segment),
        ).fetchone()[0]
        ids = [
            r[0]
            for r in conn.execute(
                "SELECT DISTINCT frame_id FROM items WHERE version_id = ? AND segment = ? ORDER BY frame_id LIMIT ? OFFSET ?",
                (version, segment, limit, offset),
            )
        ]
    frames = []
    for frame_id in ids:
        rows = conn.execute(
            "SELECT * FROM items WHERE version_id = ? AND segment = ? AND slot >= ? AND slot < ? ORDER BY slot",
            (version, segment, f"{frame_id}\x00", f"{frame_id}\x01"),
        ).fetchall()
        frames.append((frame_id, rows))
    return frames, total


def total_size(conn: sqlite3.Connection, version: int) -> int:
    """Sum of the data items' ``fileSize`` in the version."""
    return int(
        conn.execute(
            "SELECT COALESCE(SUM(file_size), 0) FROM items WHERE version_id = ?", (version,)
        ).fetchone()[0]
    )


