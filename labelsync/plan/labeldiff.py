"""The difference between two label values of one data item, label by label (pure).

A label value is TensorBay label JSON keyed by UPPER-CASE type (``labelsync/state.py``):
list types (``BOX2D``, ``POLYGON``, ...) hold one object per label, ``CLASSIFICATION`` is
one object, masks are file descriptors. :func:`diff_labels` returns one
:class:`LabelDelta` per label added (``+``), removed (``-``) or changed (``~``), in type
order, with a one-line summary such as::

    ~ box2d car [10,20,110,220] -> [12,20,112,220]
    + polygon road (14 pts)
    - keypoints2d person
    ~ box2d car occluded: false -> true
    ~ classification day -> night

Labels of a list type are matched as a multiset: identical labels match whatever their
order (a reordered list is no change), then the rest pair up by ``instance``, by identical
geometry (a category or attribute edit), and by category (nearest geometry first); what is
left over is added or removed. Nothing here truncates a value: geometry is summarised.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from labelsync.plan.model import FileChange, LabelState
from labelsync.state import GEOMETRY_KEY, Item

__all__ = ["LabelDelta", "diff_labels", "label_of", "labels_equal", "summarise"]


_CANON = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)


@dataclass(frozen=True, slots=True)
class LabelDelta:
    """One label added (``op`` ``+``), removed (``-``) or changed (``~``).

    ``type`` is the label type (``BOX2D``), ``category`` the category (after the change for
    ``~``; ``None`` when the label has none) and ``text`` the summary without the marker.
    """

    op: str
    type: str
    category: str | None
    text: str

    def line(self) -> str:
        return f"{self.op} {self.text}"


def label_of(value: Any) -> dict[str, Any]:
    """The label JSON inside a change's ``before``/``after``: the ``label`` of a typed file or
    label value (:class:`~labelsync.plan.model.FileChange`,
    :class:`~labelsync.plan.model.LabelState`, a live :class:`~labelsync.state.Item`) or of a
    fingerprint, or the value itself when every key is an UPPER-CASE label type; ``{}``
    otherwise (``None``, a value without a label, a replace)."""
    if isinstance(value, FileChange | LabelState | Item):
        value = {"label": value.label}
    if not isinstance(value, Mapping):
        return {}
    if "label" in value:
        inner = value["label"]
        return dict(inner) if isinstance(inner, Mapping) else {}
    if all(isinstance(k, str) and k.isupper() for k in value):
        return dict(value)
    return {}


def labels_equal(before: Any, after: Any) -> bool:
    """True when two label JSON values hold the same labels, whatever the order of each
    list type (what :func:`diff_labels` reports as no change; the differ uses it too)."""
    if before == after:
        return True
    if not isinstance(before, Mapping) or not isinstance(after, Mapping) or set(before) != set(after):
        return False
    for key, a in before.items():
        b = after[key]
        if isinstance(a, list) and isinstance(b, list):
            if sorted(map(_canon, a)) != sorted(map(_canon, b)):
                return False
        elif _canon(a) != _canon(b):
            return False
    return True


def diff_labels(before: Any, after: Any) -> list[LabelDelta]:
    """The label-level changes from ``before`` to ``after`` (label JSON values, see module)."""
    old, new = label_of(before), label_of(after)
    out: list[LabelDelta] = []
    for label_type in sorted(set(old) | set(new)):
        a, b = old.get(label_type), new.get(label_type)
        if _canon(a) == _canon(b):
            continue
        if isinstance(a, list) or isinstance(b, list):
            out.extend(_diff_list(label_type, _as_list(a), _as_list(b)))
        elif label_type == "CLASSIFICATION":
            out.extend(_diff_classification(a, b))
        else:
            out.extend(_diff_whole(label_type, a, b))
    return out


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list) else ([] if value is None else [value])


def _canon(value: Any) -> str:
    return _CANON.encode(value)


def _diff_list(label_type: str, old: list[Any], new: list[Any]) -> list[LabelDelta]:
    # 1. identical labels match whatever their order
    pool: dict[str, list[int]] = {}
    for j, label in enumerate(new):
        pool.setdefault(_canon(label), []).append(j)
    left: list[int] = []
    for i, label in enumerate(old):
        same = pool.get(_canon(label))
        if same:
            same.pop(0)
        else:
            left.append(i)
    right = sorted(j for js in pool.values() for j in js)
    pairs: list[tuple[int, int]] = []
    # 2. same instance, 3. same geometry, 4. same category (nearest first)
    for key in (_instance, lambda x: _geometry_key(label_type, x), _category):
        left, right = _pair(old, new, left, right, key, pairs, label_type)
    out = [_changed(label_type, old[i], new[j]) for i, j in sorted(pairs)]
    out += [LabelDelta("-", label_type, _cat(old[i]), summarise(label_type, old[i])) for i in left]
    out += [LabelDelta("+", label_type, _cat(new[j]), summarise(label_type, new[j])) for j in right]
    return out


def _pair(old: list[Any], new: list[Any], left: list[int], right: list[int], key: Any,
          pairs: list[tuple[int, int]], label_type: str) -> tuple[list[int], list[int]]:
    remaining = list(right)
    unpaired: list[int] = []
    for i in left:
        k = key(old[i])
        candidates = [j for j in remaining if k is not None and key(new[j]) == k]
        if not candidates:
            unpaired.append(i)
            continue
        origin = _anchor(label_type, old[i])
        best = min(candidates, key=lambda j: _distance(origin, _anchor(label_type, new[j])))
        remaining.remove(best)
        pairs.append((i, best))
    return unpaired, remaining


def _instance(label: Any) -> str | None:
    value = label.get("instance") if isinstance(label, dict) else None
    return value if isinstance(value, str) and value else None


def _category(label: Any) -> str | None:
    value = _cat(label)
    return value if value is not None else ("" if isinstance(label, dict) else None)


def _cat(label: Any) -> str | None:
    value = label.get("category") if isinstance(label, dict) else None
    return value if isinstance(value, str) else None


def _geometry(label_type: str, label: Any) -> Any:
    if not isinstance(label, dict):
        return label
    key = GEOMETRY_KEY.get(label_type)
    if key is not None:
        return label.get(key)
    return {k: v for k, v in label.items() if k not in ("category", "attributes", "instance")}


def _geometry_key(label_type: str, label: Any) -> str | None:
    geo = _geometry(label_type, label)
    return None if geo is None else _canon(geo)


def _points(value: Any) -> list[tuple[float, float]]:
    """Every ``{x, y}`` point inside a geometry, in order."""
    out: list[tuple[float, float]] = []
    if isinstance(value, dict):
        if isinstance(value.get("x"), int | float) and isinstance(value.get("y"), int | float):
            out.append((float(value["x"]), float(value["y"])))
        else:
            for v in value.values():
                out.extend(_points(v))
    elif isinstance(value, list):
        for v in value:
            out.extend(_points(v))
    return out


def _anchor(label_type: str, label: Any) -> tuple[float, float] | None:
    geo = _geometry(label_type, label)
    if label_type == "BOX2D" and isinstance(geo, dict):
        try:
            return ((geo["xmin"] + geo["xmax"]) / 2, (geo["ymin"] + geo["ymax"]) / 2)
        except (KeyError, TypeError):
            return None
    pts = _points(geo)
    if not pts:
        return None
    return (sum(p[0] for p in pts) / len(pts), sum(p[1] for p in pts) / len(pts))


def _distance(a: tuple[float, float] | None, b: tuple[float, float] | None) -> float:
    if a is None or b is None:
        return 0.0
    return (a[0] - b[0]) ** 2 + (a[1] - b[1]) ** 2


def _num(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return _canon(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return f"{value:g}" if isinstance(value, float) else str(value)


def geometry_text(label_type: str, label: Any) -> str:
    """The geometry in a few characters: ``[x0,y0,x1,y1]`` for a box, ``(14 pts)`` for points."""
    geo = _geometry(label_type, label)
    if geo is None:
        return ""
    if label_type == "BOX2D" and isinstance(geo, dict):
        return "[" + ",".join(_num(geo.get(k)) for k in ("xmin", "ymin", "xmax", "ymax")) + "]"
    if label_type == "BOX3D" and isinstance(geo, dict):
        t, s = geo.get("translation") or {}, geo.get("size") or {}
        at = ",".join(_num(t.get(k)) for k in "xyz") if isinstance(t, dict) else "?"
        size = "x".join(_num(s.get(k)) for k in "xyz") if isinstance(s, dict) else "?"
        return f"at ({at}) size {size}"
    if label_type in ("MULTI_POLYGON", "MULTI_POLYLINE2D") and isinstance(geo, list):
        what = "polygons" if label_type == "MULTI_POLYGON" else "lines"
        return f"({len(geo)} {what}, {_pts(len(_points(geo)))})"
    if label_type == "RLE" and isinstance(geo, list):
        return f"({len(geo)} runs)"
    if label_type == "SENTENCE" and isinstance(label, dict):
        words = [w.get("text", "") for w in label.get("sentence") or () if isinstance(w, dict)]
        return json.dumps(" ".join(str(w) for w in words), ensure_ascii=False)
    pts = _points(geo)
    if pts or isinstance(geo, list):
        return f"({_pts(len(pts))})"
    return ""


def _pts(n: int) -> str:
    return "1 pt" if n == 1 else f"{n:,} pts"


def summarise(label_type: str, label: Any) -> str:
    """``box2d car [10,20,110,220]``, ``polygon road (14 pts)``: type, category, geometry."""
    parts = [label_type.lower(), _cat(label) or "", geometry_text(label_type, label)]
    return " ".join(p for p in parts if p)


def _attributes(label: Any) -> dict[str, Any]:
    value = label.get("attributes") if isinstance(label, dict) else None
    return dict(value) if isinstance(value, dict) else {}


def _attribute_changes(old: Any, new: Any) -> list[str]:
    a, b = _attributes(old), _attributes(new)
    out = []
    for name in sorted(set(a) | set(b)):
        if name not in a:
            out.append(f"+{name}: {_canon(b[name])}")
        elif name not in b:
            out.append(f"-{name}: {_canon(a[name])}")
        elif _canon(a[name]) != _canon(b[name]):
            out.append(f"{name}: {_canon(a[name])} -> {_canon(b[name])}")
    return out


def _changed(label_type: str, old: Any, new: Any) -> LabelDelta:
    parts = [label_type.lower()]
    old_cat, new_cat = _cat(old), _cat(new)
    if old_cat != new_cat:
        parts.append(f"{old_cat or '(none)'} -> {new_cat or '(none)'}")
    elif new_cat:
        parts.append(new_cat)
    g_old, g_new = geometry_text(label_type, old), geometry_text(label_type, new)
    if _geometry_key(label_type, old) != _geometry_key(label_type, new):
        parts.append(f"{g_old} -> {g_new}" if g_old != g_new else f"{g_new} (points moved)")
    elif g_new and old_cat != new_cat:
        parts.append(g_new)
    attrs = _attribute_changes(old, new)
    if _instance(old) != _instance(new):
        attrs.append(f"instance: {_instance(old)} -> {_instance(new)}")
    text = " ".join(parts) + (" " + ", ".join(attrs) if attrs else "")
    return LabelDelta("~", label_type, new_cat, text)


def _diff_classification(old: Any, new: Any) -> list[LabelDelta]:
    if old is None:
        return [LabelDelta("+", "CLASSIFICATION", _cat(new), _classification_text(new))]
    if new is None:
        return [LabelDelta("-", "CLASSIFICATION", _cat(old), _classification_text(old))]
    parts = ["classification"]
    if _cat(old) != _cat(new):
        parts.append(f"{_cat(old) or '(none)'} -> {_cat(new) or '(none)'}")
    elif _cat(new):
        parts.append(str(_cat(new)))
    attrs = _attribute_changes(old, new)
    return [LabelDelta("~", "CLASSIFICATION", _cat(new), " ".join(parts) + (" " + ", ".join(attrs) if attrs else ""))]


def _classification_text(label: Any) -> str:
    attrs = ", ".join(f"{k}: {_canon(v)}" for k, v in sorted(_attributes(label).items()))
    return " ".join(p for p in ("classification", _cat(label) or "", attrs) if p)


def _diff_whole(label_type: str, old: Any, new: Any) -> list[LabelDelta]:
    """Masks and other one-object types: added, removed, or changed as a whole."""
    name = label_type.lower()
    if old is None:
        return [LabelDelta("+", label_type, None, name)]
    if new is None:
        return [LabelDelta("-", label_type, None, name)]
    what = []
    if isinstance(old, dict) and isinstance(new, dict):
        if old.get("checksum") != new.get("checksum") or old.get("path") != new.get("path"):
            what.append("content changed")
        if _canon(old.get("info")) != _canon(new.get("info")):
            what.append("info changed")
    return [LabelDelta("~", label_type, None, f"{name} ({', '.join(what) or 'changed'})")]
