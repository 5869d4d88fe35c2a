"""Versioned dataset contents: catalog, notes, segments, sensors, data items and labels.

Functions take a connection inside a transaction (:mod:`.db`) and a version ID chosen by
:func:`.versions.read_version` / :func:`.versions.write_version`, and return plain values.

Data items are upserted by ``remotePath`` (normal datasets) or ``frameId`` + ``sensorName``
(fusion datasets); a callback replaces the file *and* the whole label. Labels are stored as
sent. Mask entries (``SEMANTIC_MASK``, ``INSTANCE_MASK``, ``PANOPTIC_MASK``) arrive as
``{checksum, fileSize, info?}`` and are rendered on read by :mod:`.render`.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from labelsync.emulator.tensorbay.blobs import is_sha1
from labelsync.emulator.tensorbay.errors import ApiError, conflict, internal, invalid, missing, not_found
from labelsync.emulator.tensorbay.params import as_int, req_str

LIST_TYPES = (
    "BOX2D",
    "BOX3D",
    "POLYGON",
    "MULTI_POLYGON",
    "RLE",
    "POLYLINE2D",
    "MULTI_POLYLINE2D",
    "KEYPOINTS2D",
    "SENTENCE",
)
MASK_TYPES = ("SEMANTIC_MASK", "INSTANCE_MASK", "PANOPTIC_MASK")
LABEL_TYPES = frozenset(("CLASSIFICATION", *LIST_TYPES, *MASK_TYPES))
SENSOR_TYPES = frozenset(("LIDAR", "RADAR", "CAMERA", "FISHEYE_CAMERA"))
STRATEGIES = ("abort", "override", "skip")
BlobSize = Callable[[str], "int | None"]
_dumps = json.JSONEncoder(separators=(",", ":")).encode


@dataclass(frozen=True)
class Item:
    """One validated callback object, ready to upsert."""

    remote_path: str
    checksum: str
    file_size: int
    timestamp: float | None
    label: str
    frame_id: str | None
    sensor_name: str | None


# -- validation (outside the transaction: touches the blob store, not the database) -------
def check_label(label: Any, blob_size: BlobSize, where: str) -> dict[str, Any]:
    """A label object as sent: known type keys; mask files must be stored (400 otherwise)."""
    if label is None:
        return {}
    if not isinstance(label, dict):
        raise invalid(f"{where}: 'label' must be an object")
    for key, value in label.items():
        if key not in LABEL_TYPES:
            raise invalid(f"{where}: unknown label type '{key}'")
        if key in MASK_TYPES:
            if not isinstance(value, dict) or not is_sha1(value.get("checksum")):
                raise invalid(f"{where}: {key} needs a 'checksum' (SHA-1 of the mask file)")
            size = blob_size(value["checksum"])
            if size is None:
                raise invalid(f"{where}: mask object {value['checksum']} was not uploaded")
            if value.get("fileSize") is not None and as_int(value["fileSize"], "fileSize") != size:
                raise invalid(f"{where}: {key} fileSize {value['fileSize']} != stored size {size}")
        elif key in LIST_TYPES and not isinstance(value, list):
            raise invalid(f"{where}: {key} must be a list")
        elif key == "CLASSIFICATION" and not isinstance(value, dict):
            raise invalid(f"{where}: CLASSIFICATION must be an object")
    return label


def check_callback_objects(objects: Any, limit: int, blob_size: BlobSize) -> list[Item]:
    """Validate ``multi/callback`` objects: at most ``limit``, each stored in the blob store."""
    if not isinstance(objects, list) or not objects:
        raise missing("objects")
    if len(objects) > limit:
        raise invalid(f"at most {limit} objects per callback (multipleUploadLimit), got {len(objects)}")
    items = []
    for index, obj in enumerate(objects):
        where = f"objects[{index}]"
        if not isinstance(obj, dict):
            raise invalid(f"{where} must be an object")
        checksum = str(obj.get("checksum"))
        if not is_sha1(checksum):
            raise invalid(f"{where}: 'checksum' must be a lowercase SHA-1 hex digest")
        remote_path = req_str(obj, "remotePath")
        size = blob_size(checksum)
        if size is None:
            raise invalid(f"{where}: object {checksum} was not uploaded to storage")
        file_size = as_int(obj.get("fileSize", size), "fileSize")
        if file_size != size:
            raise invalid(f"{where}: fileSize {file_size} != stored size {size}")
        timestamp = obj.get("timestamp")
        if timestamp is not None and (isinstance(timestamp, bool) or not isinstance(timestamp, int | float)):
            raise invalid(f"{where}: 'timestamp' must be a number")
        label = check_label(obj.get("label"), blob_size, where)
        frame_id, sensor = obj.get("frameId"), obj.get("sensorName")
        items.append(Item(remote_path, checksum, size, timestamp, _dumps(label), frame_id, sensor))
    return items


# -- catalog and notes --------------------------------------------------------------------
def get_catalog(conn: sqlite3.Connection, version: int) -> dict[str, Any]:
    """``{catalog}``; ``{}`` when none was uploaded."""
    return {
        "catalog": json.loads(
            conn.execute("SELECT catalog FROM versions WHERE id = ?", (version,)).fetchone()[0]
        )
    }


def put_catalog(conn: sqlite3.Connection, version: int, catalog: Any) -> None:
    """Store a catalog verbatim; an empty or non-object catalog -> 400 ``InvalidParamsValue``."""
    if not isinstance(catalog, dict) or not catalog:
        raise invalid("'catalog' must be a non-empty object")
    unknown = sorted(set(catalog) - LABEL_TYPES)
    if unknown:
        raise invalid(f"unknown label types in catalog: {', '.join(unknown)}")
    conn.execute("UPDATE versions SET catalog = ? WHERE id = ?", (json.dumps(catalog), version))


def get_notes(conn: sqlite3.Connection, version: int) -> dict[str, Any]:
    """``{isContinuous, binPointCloudFields}``."""
    notes: dict[str, Any] = json.loads(
        conn.execute("SELECT notes FROM versions WHERE id = ?", (version,)).fetchone()[0]
    )
    return notes


def patch_notes(conn: sqlite3.Connection, version: int, body: Mapping[str, Any]) -> None:
    """Merge ``isContinuous`` / ``binPointCloudFields`` (explicit null allowed) into the notes."""
    notes = get_notes(conn, version)
    if "isContinuous" in body:
        if not isinstance(body["isContinuous"], bool):
            raise invalid("'isContinuous' must be a boolean")
        notes["isContinuous"] = body["isContinuous"]
    if "binPointCloudFields" in body:
        fields = body["binPointCloudFields"]
        if fields is not None and (
            not isinstance(fields, list) or not all(isinstance(f, str) for f in fields)
        ):
            raise invalid("'binPointCloudFields' must be a list of strings or null")
        notes["binPointCloudFields"] = fields
    conn.execute("UPDATE versions SET notes = ? WHERE id = ?", (json.dumps(notes), version))


# -- segments -----------------------------------------------------------------------------
def has_segment(conn: sqlite3.Connection, version: int, name: str) -> bool:
    """Whether the version holds the segment."""
    return (
        conn.execute("SELECT 1 FROM segments WHERE version_id = ? AND name = ?", (version, name)).fetchone()
        is not None
    )


def need_segment(conn: sqlite3.Connection, version: int, name: str) -> None:
    """404 unless the version holds the segment."""
    if not has_segment(conn, version, name):
        raise not_found(f"segment '{name}' does not exist")


def create_segment(conn: sqlite3.Connection, version: int, name: str, description: str) -> None:
    """``POST segments``: 409 ``NameConflict`` on a duplicate."""
    if has_segment(conn, version, name):
        raise conflict(f"segment '{name}' already exists")
    conn.execute("INSERT INTO segments VALUES (?, ?, ?)", (version, name, description))


def list_segments(conn: sqlite3.Connection, version: int, offset: int, limit: int) -> tuple[list[Any], int]:
    """Segments by name: ``{name, description}``."""
    total = conn.execute("SELECT COUNT(*) FROM segments WHERE version_id = ?", (version,)).fetchone()[0]
    rows = conn.execute(
        "SELECT name, description FROM segments WHERE version_id = ? ORDER BY name LIMIT ? OFFSET ?",
        (version, limit, offset),
    )
    return [{"name": r[0], "description": r[1]} for r in rows], total


def _drop_segment(conn: sqlite3.Connection, version: int, name: str) -> None:
    for table, column in (("items", "segment"), ("sensors", "segment"), ("segments", "name")):
        conn.execute(f"DELETE FROM {table} WHERE version_id = ? AND {column} = ?", (version, name))


def delete_segment(conn: sqlite3.Connection, version: int, name: str) -> None:
    """``DELETE segments``: the segment with its sensors and data; 404 if unknown."""
    need_segment(conn, version, name)
    _drop_segment(conn, version, name)


def copy_segment(
    conn: sqlite3.Connection, source: tuple[int, str], target: tuple[int, str], strategy: str, move: bool
) -> None:
    """Copy (or move) a segment between versions.

    An existing target: ``abort`` -> 500 ``InternalServerError`` (as the real service
    answers), ``override`` -> the target is replaced, ``skip`` -> nothing happens.
    """
    (src_version, src_name), (dst_version, dst_name) = source, target
    if strategy not in STRATEGIES:
        raise invalid("'strategy' must be abort, override or skip")
    need_segment(conn, src_version, src_name)
    if source == target:
        raise invalid("source and target segment are the same")
    if has_segment(conn, dst_version, dst_name):
        if strategy == "abort":
            raise internal(f"segment '{dst_name}' already exists (strategy abort)")
        if strategy == "skip":
            return
        _drop_segment(conn, dst_version, dst_name)
    conn.execute(
        "INSERT INTO segments SELECT ?, ?, description FROM segments WHERE version_id = ? AND name = ?",
        (dst_version, dst_name, src_version, src_name),
    )
    conn.execute(
        "INSERT INTO sensors SELECT ?, ?, name, body FROM sensors WHERE version_id = ? AND segment = ?",
        (dst_version, dst_name, src_version, src_name),
    )
    conn.execute(
        "INSERT INTO items SELECT ?, ?, slot, remote_path, frame_id, sensor_name, checksum, file_size, timestamp, label"
        " FROM items WHERE version_id = ? AND segment = ?",
        (dst_version, dst_name, src_version, src_name),
    )
    if move:
        _drop_segment(conn, src_version, src_name)


# -- sensors ------------------------------------------------------------------------------
def upsert_sensor(conn: sqlite3.Connection, version: int, segment: str, body: Mapping[str, Any]) -> None:
    """``POST sensors``: insert or replace the sensor named ``body["name"]``."""
    need_segment(conn, version, segment)
    sensor = {k: v for k, v in body.items() if k not in ("segmentName", "draftNumber")}
    name = req_str(sensor, "name")
    if sensor.get("type") not in SENSOR_TYPES:
        raise invalid(f"sensor 'type' must be one of {', '.join(sorted(SENSOR_TYPES))}")
    conn.execute(
        "INSERT OR REPLACE INTO sensors VALUES (?, ?, ?, ?)", (version, segment, name, json.dumps(sensor))
    )


def list_sensors(conn: sqlite3.Connection, version: int, segment: str) -> list[Any]:
    """All sensors of the segment (not paged), by name."""
    need_segment(conn, version, segment)
    rows = conn.execute(
        "SELECT body FROM sensors WHERE version_id = ? AND segment = ? ORDER BY name", (version, segment)
    )
    return [json.loads(r[0]) for r in rows]


def delete_sensor(conn: sqlite3.Connection, version: int, segment: str, name: str) -> None:
    """``DELETE sensors``: the sensor and its data in every frame; 404 if unknown."""
    need_segment(conn, version, segment)
    cur = conn.execute(
        "DELETE FROM sensors WHERE version_id = ? AND segment = ? AND name = ?", (version, segment, name)
    )
    if cur.rowcount == 0:
        raise not_found(f"sensor '{name}' does not exist")
    conn.execute(
        "DELETE FROM items WHERE version_id = ? AND segment = ? AND sensor_name = ?", (version, segment, name)
    )


def delete_frame(conn: sqlite3.Connection, version: int, segment: str, frame_id: str) -> None:
    """``DELETE frames``: every item of the frame; 404 if there is none."""
    need_segment(conn, version, segment)
    cur = conn.execute(
        "DELETE FROM items WHERE version_id = ? AND segment = ? AND frame_id = ?",
        (version, segment, frame_id),
    )
    if cur.rowcount == 0:
        raise not_found(f"frame '{frame_id}' does not exist")


# -- data items ---------------------------------------------------------------------------
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


_SLOT_MEMO: dict[tuple[int, int, str], tuple[tuple[int, int], list[Any]]] = {}
_SLOT_MEMO_SIZE = 8


def _slots(conn: sqlite3.Connection, version: int, segment: str) -> list[Any]:
    """The segment's item slots in order, remembered until the database changes.

    Paging 100,000 items with COUNT(*) and OFFSET costs O(n) per page; with the ordered
    slots at hand a page is one index seek. The generation is this connection's change
    count plus SQLite's ``data_version`` (which moves when another process commits), so a
    write from anywhere invalidates the memo.
    """
    generation = (conn.total_changes, int(conn.execute("PRAGMA data_version").fetchone()[0]))
    key = (id(conn), version, segment)
    found = _SLOT_MEMO.get(key)
    if found is not None and found[0] == generation:
        return found[1]
    slots = [r[0] for r in conn.execute(
        "SELECT slot FROM items WHERE version_id = ? AND segment = ? ORDER BY slot", (version, segment)
    )]
    if len(_SLOT_MEMO) >= _SLOT_MEMO_SIZE:
        _SLOT_MEMO.pop(next(iter(_SLOT_MEMO)))
    _SLOT_MEMO[key] = (generation, slots)
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


# -- label statistics ---------------------------------------------------------------------
def _count_attributes(counter: dict[str, dict[str, Any]], attributes: Any) -> None:
    if not isinstance(attributes, dict):
        return
    for name, value in attributes.items():
        key = json.dumps(value, sort_keys=True)
        counter.setdefault(name, {}).setdefault(key, [value, 0])[1] += 1


def _render_attributes(counter: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for name in sorted(counter):
        values = sorted(counter[name].items())
        out.append({"name": name, "enum": [v[1][0] for v in values], "quantities": [v[1][1] for v in values]})
    return out


def label_statistics(conn: sqlite3.Connection, version: int) -> dict[str, Any]:
    """``labelStatistics``: per label type, object counts by category and attribute value."""
    stats: dict[str, Any] = {}
    for (text,) in conn.execute("SELECT label FROM items WHERE version_id = ? AND label != '{}'", (version,)):
        for kind, value in json.loads(text).items():
            if kind in MASK_TYPES:
                continue
            objects = value if isinstance(value, list) else [value]
            entry = stats.setdefault(kind, {"quantity": 0, "categories": {}, "attributes": {}})
            for obj in objects:
                if not isinstance(obj, dict):
                    continue
                entry["quantity"] += 1
                _count_attributes(entry["attributes"], obj.get("attributes"))
                if isinstance(obj.get("category"), str):
                    cat = entry["categories"].setdefault(obj["category"], {"quantity": 0, "attributes": {}})
                    cat["quantity"] += 1
                    _count_attributes(cat["attributes"], obj.get("attributes"))
    result = {}
    for kind, entry in sorted(stats.items()):
        result[kind] = {
            "quantity": entry["quantity"],
            "categories": [
                {
                    "name": name,
                    "quantity": cat["quantity"],
                    "attributes": _render_attributes(cat["attributes"]),
                }
                for name, cat in sorted(entry["categories"].items())
            ],
            "attributes": _render_attributes(entry["attributes"]),
        }
    return {"labelStatistics": result}


# -- diffs --------------------------------------------------------------------------------
def _segment_items(conn: sqlite3.Connection, version: int, segment: str) -> dict[str, tuple[str, str, str]]:
    """``{slot: (checksum, label, remotePath)}`` of one segment."""
    rows = conn.execute(
        "SELECT slot, checksum, label, remote_path FROM items WHERE version_id = ? AND segment = ?",
        (version, segment),
    )
    return {r[0]: (r[1], r[2], r[3]) for r in rows}


def _data_diff(
    base: dict[str, tuple[str, str, str]], head: dict[str, tuple[str, str, str]]
) -> list[dict[str, Any]]:
    out = []
    for slot in sorted(set(base) | set(head)):
        old, new = base.get(slot), head.get(slot)
        path = (new or old or ("", "", slot))[2]
        if old == new:
            continue
        if old is None:
            action, file_action, label_action = "add", "add", "add" if new and new[1] != "{}" else ""
        elif new is None:
            action, file_action, label_action = "delete", "delete", "delete" if old[1] != "{}" else ""
        else:
            action = "modify"
            file_action = "modify" if old[0] != new[0] else ""
            label_action = "modify" if old[1] != new[1] else ""
        out.append(
            {
                "remotePath": path,
                "action": action,
                "file": {"action": file_action},
                "label": {"action": label_action},
            }
        )
    return out


def diff_segments(conn: sqlite3.Connection, base: int, head: int) -> list[dict[str, Any]]:
    """Changed segments between two versions, by name, with data change counts."""

    def names(version: int) -> set[str]:
        return {r[0] for r in conn.execute("SELECT name FROM segments WHERE version_id = ?", (version,))}

    def sensors(version: int, segment: str) -> dict[str, str]:
        rows = conn.execute(
            "SELECT name, body FROM sensors WHERE version_id = ? AND segment = ?", (version, segment)
        )
        return {r[0]: r[1] for r in rows}

    old_names, new_names = names(base), names(head)
    out = []
    for name in sorted(old_names | new_names):
        changes = _data_diff(_segment_items(conn, base, name), _segment_items(conn, head, name))
        old_sensors, new_sensors = sensors(base, name), sensors(head, name)
        sensor_action = (
            ""
            if old_sensors == new_sensors
            else ("add" if not old_sensors else "delete" if not new_sensors else "modify")
        )
        if name not in old_names:
            action = "add"
        elif name not in new_names:
            action = "delete"
        elif changes or sensor_action:
            action = "modify"
        else:
            continue
        stats = {
            "total": len(changes),
            "additions": sum(c["action"] == "add" for c in changes),
            "deletions": sum(c["action"] == "delete" for c in changes),
            "modifications": sum(c["action"] == "modify" for c in changes),
        }
        out.append(
            {"name": name, "action": action, "data": {"stats": stats}, "sensor": {"action": sensor_action}}
        )
    return out


def diff_data(conn: sqlite3.Connection, base: int, head: int, segment: str) -> list[dict[str, Any]]:
    """Changed data items of one segment between two versions, by remotePath."""
    if not has_segment(conn, base, segment) and not has_segment(conn, head, segment):
        raise not_found(f"segment '{segment}' does not exist")
    return _data_diff(_segment_items(conn, base, segment), _segment_items(conn, head, segment))


def strategy_of(body: Mapping[str, Any]) -> str:
    """The copy/move ``strategy`` (default ``abort``)."""
    strategy = body.get("strategy", "abort")
    if strategy not in STRATEGIES:
        raise ApiError(400, "InvalidParamsValue", "'strategy' must be abort, override or skip")
    return str(strategy)
