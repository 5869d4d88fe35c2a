"""What a version holds in sum and how two versions differ: label statistics and diffs.

Read-only functions over a connection inside a transaction (:mod:`.db`).
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from labelsync.emulator.tensorbay.content import MASK_TYPES, has_segment
from labelsync.emulator.tensorbay.errors import not_found

_dumps = json.JSONEncoder(separators=(",", ":")).encode


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


