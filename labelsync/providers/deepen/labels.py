"""TensorBay label JSON <-> Deepen label objects (pure).

Label identity. The import upserts by ``(file_id, label_id)``, so every object of an item
needs its own ``label_id``, the same on every run. It is ``<category>:<n>`` (the contract's
form, §4.2) with ``n`` in a range of its own per Deepen feature (``TYPE_BASE``: ``box`` 0,
``polygon`` 1,000,000, ...): ``base + int(instance)`` for the first object of its type with
a decimal ``instance`` below :data:`HALF` (so a track keeps one id across frames, as
``label_by_label`` datasets expect), ``base + HALF + position`` for the others
(``position``: 1-based place in its type's list; CLASSIFICATION: 1). A BOX2D and a POLYGON
of the same category, or objects sharing an ``instance``, never share an id.

``instance`` (any string, tracking or not) has no place in a LabelResource, so it travels as
the attribute :data:`INSTANCE_ATTRIBUTE` and comes back as ``instance``. Deepen keeps no
object order: :func:`align_order` puts live objects in the desired order when they are the
same objects.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

from labelsync.providers.deepen.convert import FEATURE_OF, FEATURES_3D, TYPE_OF, ConvertError
from labelsync.state import canonical_json

TYPE_BASE: dict[str, int] = {"box": 0, "polygon": 1_000_000, "lane": 2_000_000, "point": 3_000_000, "3d_bbox": 4_000_000, "scene": 5_000_000}
"""Deepen feature -> the start of its ``label_id`` number range (see the module docstring)."""
TYPE_SPAN = 1_000_000
HALF = TYPE_SPAN // 2
INSTANCE_ATTRIBUTE = "labelsync.instance"
"""The Deepen attribute that carries a TensorBay object's ``instance``."""


# --------------------------------------------------------------------------- labels: to Deepen


def _xy(points: list[dict[str, Any]]) -> list[list[Any]]:
    return [[p["x"], p["y"]] for p in points]


def _yaw(q: Mapping[str, Any]) -> float:
    w, x, y, z = (float(q.get(k, 0.0)) for k in "wxyz")
    return math.atan2(2.0 * (w * z + x * y), 1.0 - 2.0 * (y * y + z * z))


def _geometry(label_type: str, obj: Mapping[str, Any]) -> dict[str, Any]:
    if label_type == "BOX2D":
        b = obj["box2d"]
        return {"box": [b["xmin"], b["ymin"], b["xmax"] - b["xmin"], b["ymax"] - b["ymin"]]}
    if label_type == "POLYGON":
        return {"polygons": [_xy(obj["polygon"])]}
    if label_type == "POLYLINE2D":
        if obj.get("beizerPointTypes"):
            raise ConvertError("POLYLINE2D with beizerPointTypes has no Deepen form (lane labels have no curves)")
        return {"polygons": [_xy(obj["polyline2d"])]}
    if label_type == "KEYPOINTS2D":
        points = obj["keypoints2d"]
        if len(points) != 1:
            raise ConvertError(f"KEYPOINTS2D label with {len(points)} points: Deepen point labels are single points")
        p = points[0]
        return {"point": [p["x"], p["y"]] + ([p["v"]] if "v" in p else [])}
    if label_type == "BOX3D":
        b = obj["box3d"]
        t, s, r = b["translation"], b["size"], b["rotation"]
        return {
            "three_d_bbox": {
                "cx": t["x"], "cy": t["y"], "cz": t["z"],
                "l": s["x"], "w": s["y"], "h": s["z"],
                "quaternion": {"x": r["x"], "y": r["y"], "z": r["z"], "w": r["w"]},
                "rot_z": _yaw(r),
            }
        }
    raise ConvertError(f"label type {label_type} has no Deepen equivalent")


def to_deepen(file_id: str, label: Mapping[str, Any], *, sensor_id: str | None = None) -> list[dict[str, Any]]:
    """The Deepen LabelResources (import form) of one item's TensorBay ``label``.

    Raises :class:`ConvertError` for a type or shape Deepen cannot hold.
    """
    out: list[dict[str, Any]] = []
    for label_type in sorted(label):
        value = label[label_type]
        feature = FEATURE_OF.get(label_type)
        if feature is None:
            raise ConvertError(f"{file_id}: label type {label_type} has no Deepen equivalent", hint="run labelsync validate")
        if label_type == "CLASSIFICATION":
            if not value.get("category"):
                raise ConvertError(f"{file_id}: a CLASSIFICATION without category has no Deepen form (scene labels need one)")
            out.append(_label(file_id, feature, value["category"], label_id_for(feature, value["category"], 1), value, {}, sensor_id))
            continue
        if len(value) >= HALF:
            raise ConvertError(f"{file_id}: {len(value)} {label_type} objects: Deepen label ids hold at most {HALF - 1}")
        tracks: set[int] = set()
        for position, obj in enumerate(value, 1):
            category = obj.get("category") or ""
            if not category:
                raise ConvertError(f"{file_id}: a {label_type} object without category has no Deepen form")
            sid = ("lidar" if feature in FEATURES_3D else None) if sensor_id is None else sensor_id
            label_id = label_id_for(feature, category, position, obj.get("instance"), tracks)
            out.append(_label(file_id, feature, category, label_id, obj, _geometry(label_type, obj), sid))
    return out


def label_id_for(feature: str, category: str, position: int, instance: Any = None, tracks: set[int] | None = None) -> str:
    """The ``label_id`` of the ``position``-th (1-based) object of Deepen type ``feature``
    (see the module docstring); ``tracks``: the instance numbers already used in the item."""
    base = TYPE_BASE[feature]
    if isinstance(instance, str) and instance.isascii() and instance.isdigit() and 0 < int(instance) < HALF:
        number = int(instance)
        if tracks is not None and number not in tracks:
            tracks.add(number)
            return f"{category}:{base + number}"
    return f"{category}:{base + HALF + position}"


def _label(file_id: str, feature: str, category: str, label_id: str, obj: Mapping[str, Any], geometry: dict[str, Any], sensor_id: str | None) -> dict[str, Any]:
    attributes = dict(obj.get("attributes") or {})
    if obj.get("instance") is not None:
        attributes[INSTANCE_ATTRIBUTE] = obj["instance"]
    doc: dict[str, Any] = {
        "file_id": file_id,
        "label_type": feature,
        "label_category_id": category,
        "label_id": label_id,
        "attributes": attributes,
        **geometry,
    }
    if sensor_id:
        doc["sensor_id"] = sensor_id
    return doc


# --------------------------------------------------------------------------- labels: from Deepen


def _points(rings: Any) -> list[dict[str, Any]]:
    ring = rings[0] if rings else []
    return [{"x": p[0], "y": p[1]} for p in ring]


def _quaternion(b: Mapping[str, Any]) -> dict[str, Any]:
    q = b.get("quaternion")
    if isinstance(q, dict):
        return {"w": q.get("w", 1.0), "x": q.get("x", 0.0), "y": q.get("y", 0.0), "z": q.get("z", 0.0)}
    yaw = float(b.get("rot_z") or 0.0)
    return {"w": math.cos(yaw / 2), "x": 0.0, "y": 0.0, "z": math.sin(yaw / 2)}


def _object(label_type: str, doc: Mapping[str, Any]) -> dict[str, Any] | None:
    if label_type == "BOX2D" and isinstance(doc.get("box"), list) and len(doc["box"]) == 4:
        x, y, w, h = doc["box"]
        return {"box2d": {"xmin": x, "ymin": y, "xmax": x + w, "ymax": y + h}}
    if label_type == "POLYGON" and doc.get("polygons"):
        return {"polygon": _points(doc["polygons"])}
    if label_type == "POLYLINE2D" and doc.get("polygons"):
        return {"polyline2d": _points(doc["polygons"])}
    if label_type == "KEYPOINTS2D" and isinstance(doc.get("point"), list) and len(doc["point"]) >= 2:
        p = doc["point"]
        point = {"x": p[0], "y": p[1]}
        if len(p) > 2:
            point["v"] = p[2]
        return {"keypoints2d": [point]}
    if label_type == "BOX3D" and isinstance(doc.get("three_d_bbox"), dict):
        b = doc["three_d_bbox"]
        return {
            "box3d": {
                "translation": {"x": b.get("cx", 0), "y": b.get("cy", 0), "z": b.get("cz", 0)},
                "rotation": _quaternion(b),
                "size": {"x": b.get("l", 0), "y": b.get("w", 0), "z": b.get("h", 0)},
            }
        }
    return None


def from_deepen(docs: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """The TensorBay label JSON of one file's Deepen labels (the inverse of :func:`to_deepen`,
    in server order; see :func:`align_order`).

    Labels of Deepen types with no TensorBay equivalent (paint labels, 3d polylines...) or
    without readable geometry are skipped. The :data:`INSTANCE_ATTRIBUTE` attribute becomes
    the object's ``instance``.
    """
    out: dict[str, Any] = {}
    for doc in docs:
        label_type = TYPE_OF.get(str(doc.get("label_type")))
        category = doc.get("label_category_id")
        if label_type is None or not isinstance(category, str):
            continue
        attributes = dict(doc["attributes"]) if isinstance(doc.get("attributes"), dict) else {}
        instance = attributes.pop(INSTANCE_ATTRIBUTE, None)
        if label_type == "CLASSIFICATION":
            cls: dict[str, Any] = {"category": category}
            if attributes:
                cls["attributes"] = attributes
            out["CLASSIFICATION"] = cls
            continue
        obj = _object(label_type, doc)
        if obj is None:
            continue
        obj["category"] = category
        if attributes:
            obj["attributes"] = attributes
        if isinstance(instance, str):
            obj["instance"] = instance
        out.setdefault(label_type, []).append(obj)
    return out


def align_order(live: Mapping[str, Any], desired: Mapping[str, Any]) -> dict[str, Any]:
    """``live`` with each object list in ``desired``'s order when both hold the same objects
    (Deepen keeps no order; its listing order follows the import history)."""
    out = dict(live)
    for key, value in live.items():
        want = desired.get(key)
        if isinstance(value, list) and isinstance(want, list) and value != want and len(value) == len(want):
            if sorted(map(canonical_json, value)) == sorted(map(canonical_json, want)):
                out[key] = list(want)
    return out
