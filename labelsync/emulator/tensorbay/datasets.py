"""Datasets: create, list, read, update, delete (contract §2.1).

Every function takes an open connection inside a transaction (see :mod:`.db`) and returns
JSON-ready values, raising :class:`~.errors.ApiError` for anything the contract refuses. A
dataset starts with branch ``main`` at the root commit (:mod:`.versions`).
"""

from __future__ import annotations

import sqlite3
import time
import uuid
from collections.abc import Mapping
from typing import Any

from labelsync.emulator.tensorbay.errors import conflict, invalid, missing
from labelsync.emulator.tensorbay.params import as_int
from labelsync.emulator.tensorbay.versions import (
    ROOT,
    USER,
    dataset,
    new_version,
)


def _dataset_json(row: sqlite3.Row) -> dict[str, Any]:
    return {
        "id": row["id"],
        "name": row["name"],
        "type": row["type"],
        "defaultBranch": row["default_branch"],
        "updateTime": int(row["updated"]),
        "createTime": int(row["created"]),
        "owner": "",
        "alias": row["alias"],
        "isPublic": bool(row["is_public"]),
    }


def create_dataset(conn: sqlite3.Connection, body: Mapping[str, Any]) -> dict[str, Any]:
    """``POST datasets``: 409 on a taken name; starts at the root commit on ``main``."""
    name = body.get("name")
    if not isinstance(name, str) or not name:
        raise missing("name")
    kind = as_int(body.get("type", 0), "type")
    if kind not in (0, 1):
        raise invalid("'type' must be 0 (normal) or 1 (fusion)")
    if conn.execute("SELECT 1 FROM datasets WHERE name = ?", (name,)).fetchone():
        raise conflict(f"dataset '{name}' already exists")
    if body.get("configName"):
        raise invalid("auth storage configs are not supported by the emulator")
    dataset_id = uuid.uuid4().hex
    stamp = time.time()
    conn.execute(
        "INSERT INTO datasets(id, name, type, alias, is_public, default_branch, created, updated)"
        " VALUES (?, ?, ?, ?, ?, 'main', ?, ?)",
        (dataset_id, name, kind, str(body.get("alias") or ""), int(bool(body.get("isPublic"))), stamp, stamp),
    )
    version = new_version(conn, dataset_id)
    conn.execute(
        "INSERT INTO commits VALUES (?, ?, ?, NULL, '', '', ?, ?)",
        (dataset_id, ROOT, version, USER, int(stamp)),
    )
    conn.execute("INSERT INTO branches VALUES (?, 'main', ?)", (dataset_id, ROOT))
    return {"id": dataset_id}


def list_datasets(
    conn: sqlite3.Connection, name: str | None, offset: int, limit: int
) -> tuple[list[Any], int]:
    """``GET datasets``: by name ascending; ``name`` is an exact-match filter."""
    where, args = ("WHERE name = ?", [name]) if name is not None else ("", [])
    total = conn.execute(f"SELECT COUNT(*) FROM datasets {where}", args).fetchone()[0]
    rows = conn.execute(
        f"SELECT * FROM datasets {where} ORDER BY name LIMIT ? OFFSET ?", [*args, limit, offset]
    )
    return [_dataset_json(r) for r in rows], total


def get_dataset(conn: sqlite3.Connection, dataset_id: str) -> dict[str, Any]:
    """``GET datasets/{id}``: includes ``commitId``, the default branch head."""
    row = dataset(conn, dataset_id)
    head = conn.execute(
        "SELECT commit_id FROM branches WHERE dataset_id = ? AND name = ?",
        (dataset_id, row["default_branch"]),
    ).fetchone()
    return {**_dataset_json(row), "commitId": head[0] if head else ROOT}


def update_dataset(conn: sqlite3.Connection, dataset_id: str, body: Mapping[str, Any]) -> None:
    """``PATCH datasets/{id}``: ``alias``, ``isPublic`` and/or ``name`` (409 if taken)."""
    dataset(conn, dataset_id)
    if "name" in body:
        name = body["name"]
        if not isinstance(name, str) or not name:
            raise invalid("'name' must be a non-empty string")
        if conn.execute("SELECT 1 FROM datasets WHERE name = ? AND id != ?", (name, dataset_id)).fetchone():
            raise conflict(f"dataset '{name}' already exists")
        conn.execute("UPDATE datasets SET name = ? WHERE id = ?", (name, dataset_id))
    if "alias" in body:
        conn.execute("UPDATE datasets SET alias = ? WHERE id = ?", (str(body["alias"] or ""), dataset_id))
    if "isPublic" in body:
        conn.execute(
            "UPDATE datasets SET is_public = ? WHERE id = ?", (int(bool(body["isPublic"])), dataset_id)
        )
    conn.execute("UPDATE datasets SET updated = ? WHERE id = ?", (time.time(), dataset_id))


def delete_dataset(conn: sqlite3.Connection, dataset_id: str) -> None:
    """``DELETE datasets/{id}``: the dataset and every version of it."""
    dataset(conn, dataset_id)
    versions = "SELECT id FROM versions WHERE dataset_id = ?"
    for table in ("items", "sensors", "segments"):
        conn.execute(f"DELETE FROM {table} WHERE version_id IN ({versions})", (dataset_id,))
    for table in ("versions",):
        conn.execute(f"DELETE FROM {table} WHERE dataset_id = ?", (dataset_id,))
    for table in ("commits", "drafts", "branches", "tags"):
        conn.execute(f"DELETE FROM {table} WHERE dataset_id = ?", (dataset_id,))
    conn.execute("DELETE FROM datasets WHERE id = ?", (dataset_id,))


