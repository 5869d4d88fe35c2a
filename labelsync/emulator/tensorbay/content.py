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
from collections.abc import Callable, Mapping
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
def strategy_of(body: Mapping[str, Any]) -> str:
    """The copy/move ``strategy`` (default ``abort``)."""
    strategy = body.get("strategy", "abort")
    if strategy not in STRATEGIES:
        raise ApiError(400, "InvalidParamsValue", "'strategy' must be abort, override or skip")
    return str(strategy)
