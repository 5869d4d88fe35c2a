"""A catalog change as a list of named changes, not JSON (pure).

:func:`catalog_changes` compares two TensorBay catalogs (``{TYPE: {categories, attributes,
keypoints, isTracking, ...}}``) and returns one :class:`CatalogChange` per thing that
changed, each flagged breaking (existing labels may no longer be valid) or not, and, given
the live side's label statistics (:mod:`labelsync.plan.stats`), how many live labels it
touches::

    + BOX2D category truck
    - BOX2D category bus  (breaking; 312 live labels)
    + BOX2D attribute colour (enum "red","blue")
    ~ BOX2D attribute colour: enum + "green"
    ~ BOX2D attribute colour: enum - "red"  (breaking; 12 live labels)
    ~ BOX2D attribute truncation: range [0, 1] -> [0, 0.5]  (breaking; 40 live labels)
    ~ KEYPOINTS2D keypoints: definition 0 changed (17 -> 18 points)  (breaking; 9 live labels)
    ~ BOX2D isTracking: false -> true

Breaking: a label type, category or attribute removed, enum values removed, a range
narrowed, an attribute's type or items changed, keypoint definitions changed. Adding
things, widening a range, descriptions and ``isTracking`` are not breaking. Values are
shown whole (compact JSON), never cut.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from labelsync.plan.stats import touches

__all__ = ["CatalogChange", "attribute_breaks", "catalog_changes"]

_CANON = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)


@dataclass(frozen=True, slots=True)
class CatalogChange:
    """One named catalog change: ``op`` (``+``/``-``/``~``), ``text``, ``breaking`` and
    ``touches`` (live labels concerned; ``None`` when unknown)."""

    op: str
    text: str
    breaking: bool = False
    touches: int | None = None

    def line(self) -> str:
        notes = []
        if self.breaking:
            notes.append("breaking")
        if self.touches is not None:
            notes.append(f"{self.touches:,} live label{'' if self.touches == 1 else 's'}")
        return f"{self.op} {self.text}" + (f"  ({'; '.join(notes)})" if notes else "")


def _j(value: Any) -> str:
    return _CANON.encode(value)


def _by_name(items: Any) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for item in items if isinstance(items, list) else []:
        if isinstance(item, Mapping) and isinstance(item.get("name"), str):
            out[item["name"]] = dict(item)
        elif isinstance(item, str):
            out[item] = {"name": item}
    return out


def catalog_changes(before: Any, after: Any, live_stats: Mapping[str, Any] | None = None) -> list[CatalogChange]:
    """The changes from catalog ``before`` to ``after`` (see the module docstring).

    ``live_stats`` is one side of :func:`labelsync.plan.stats.dataset_stats` (the live
    dataset's); without it ``touches`` is ``None``.
    """
    old = dict(before) if isinstance(before, Mapping) else {}
    new = dict(after) if isinstance(after, Mapping) else {}

    def count(label_type: str, **kw: Any) -> int | None:
        return None if live_stats is None else touches(live_stats, label_type, **kw)

    out: list[CatalogChange] = []
    for t in sorted(set(old) | set(new)):
        if t not in old:
            out.append(CatalogChange("+", f"label type {t}"))
            continue
        if t not in new:
            out.append(CatalogChange("-", f"label type {t}", True, count(t)))
            continue
        a = dict(old[t] or {}) if isinstance(old[t], Mapping) else {}
        b = dict(new[t] or {}) if isinstance(new[t], Mapping) else {}
        out += _categories(t, a, b, count)
        out += _attributes(t, a, b, count)
        out += _keypoints(t, a.get("keypoints"), b.get("keypoints"), count)
        if bool(a.get("isTracking", False)) != bool(b.get("isTracking", False)):
            out.append(CatalogChange("~", f"{t} isTracking: {_j(bool(a.get('isTracking')))} -> {_j(bool(b.get('isTracking')))}"))
        for key in sorted((set(a) | set(b)) - {"categories", "attributes", "keypoints", "isTracking"}):
            if _j(a.get(key)) != _j(b.get(key)):
                out.append(CatalogChange("~", f"{t} {key}: {_j(a.get(key))} -> {_j(b.get(key))}"))
    return out


def _categories(t: str, a: dict[str, Any], b: dict[str, Any], count: Any) -> list[CatalogChange]:
    old, new = _by_name(a.get("categories")), _by_name(b.get("categories"))
    out = [CatalogChange("+", f"{t} category {name}") for name in new if name not in old]
    out += [CatalogChange("-", f"{t} category {name}", True, count(t, category=name)) for name in old if name not in new]
    for name in (n for n in new if n in old):
        for key in sorted((set(old[name]) | set(new[name])) - {"name"}):
            if _j(old[name].get(key)) != _j(new[name].get(key)):
                out.append(CatalogChange("~", f"{t} category {name}: {key} {_j(old[name].get(key))} -> {_j(new[name].get(key))}"))
    return out


def _attributes(t: str, a: dict[str, Any], b: dict[str, Any], count: Any) -> list[CatalogChange]:
    old, new = _by_name(a.get("attributes")), _by_name(b.get("attributes"))
    out = [CatalogChange("+", f"{t} attribute {name}{_attr_summary(new[name])}") for name in new if name not in old]
    out += [CatalogChange("-", f"{t} attribute {name}", True, count(t, attribute=name)) for name in old if name not in new]
    for name in (n for n in new if n in old):
        out += _attribute(t, name, old[name], new[name], count)
    return out


def attribute_breaks(label_type: str, before: Mapping[str, Any], after: Mapping[str, Any]) -> bool:
    """Whether redefining one attribute ``before`` -> ``after`` can invalidate labels (enum
    values removed, range narrowed, type/items changed, parentCategories narrowed); adding
    enum values, widening a range and descriptions cannot."""
    name = str(after.get("name", before.get("name", "")))
    return any(c.breaking for c in _attribute(label_type, name, dict(before), dict(after), lambda *a, **k: None))


def _attr_summary(attr: Mapping[str, Any]) -> str:
    if "enum" in attr:
        return " (enum " + ",".join(_j(v) for v in attr["enum"] or []) + ")"
    facts = [str(attr["type"])] if "type" in attr else []
    if "minimum" in attr or "maximum" in attr:
        facts.append(f"[{_j(attr.get('minimum'))}, {_j(attr.get('maximum'))}]")
    return f" ({' '.join(facts)})" if facts else ""


def _attribute(t: str, name: str, a: dict[str, Any], b: dict[str, Any], count: Any) -> list[CatalogChange]:
    where = f"{t} attribute {name}"
    out: list[CatalogChange] = []
    if "enum" in a or "enum" in b:
        va, vb = list(a.get("enum") or []), list(b.get("enum") or [])
        ka, kb = {_j(v) for v in va}, {_j(v) for v in vb}
        added = [_j(v) for v in vb if _j(v) not in ka]
        removed = [_j(v) for v in va if _j(v) not in kb]
        if added:
            out.append(CatalogChange("~", f"{where}: enum + {','.join(added)}"))
        if removed:
            out.append(CatalogChange("~", f"{where}: enum - {','.join(removed)}", True, count(t, attribute=name, values=removed)))
        if "enum" not in b:
            out.append(CatalogChange("~", f"{where}: no longer an enum"))
    lo_a, hi_a, lo_b, hi_b = a.get("minimum"), a.get("maximum"), b.get("minimum"), b.get("maximum")
    if (lo_a, hi_a) != (lo_b, hi_b):
        narrowed = _above(lo_b, lo_a) or _below(hi_b, hi_a)
        out.append(CatalogChange(
            "~", f"{where}: range [{_j(lo_a)}, {_j(hi_a)}] -> [{_j(lo_b)}, {_j(hi_b)}]",
            narrowed, count(t, attribute=name) if narrowed else None,
        ))  # fmt: skip
    for key in sorted((set(a) | set(b)) - {"name", "enum", "minimum", "maximum"}):
        if _j(a.get(key)) != _j(b.get(key)):
            breaking = key in ("type", "items") or (key == "parentCategories" and _narrows(a.get(key), b.get(key)))
            out.append(CatalogChange(
                "~", f"{where}: {key} {_j(a.get(key))} -> {_j(b.get(key))}",
                breaking, count(t, attribute=name) if breaking else None,
            ))  # fmt: skip
    return out


def _above(x: Any, y: Any) -> bool:
    """New minimum ``x`` is stricter than old ``y`` (``x > y``, or there was none)."""
    if x is None:
        return False
    try:
        return y is None or bool(x > y)
    except TypeError:
        return True


def _below(x: Any, y: Any) -> bool:
    """New maximum ``x`` is stricter than old ``y`` (``x < y``, or there was none)."""
    if x is None:
        return False
    try:
        return y is None or bool(x < y)
    except TypeError:
        return True


def _narrows(a: Any, b: Any) -> bool:
    """``parentCategories`` ``a`` -> ``b`` allows fewer categories (absent means all)."""
    if b is None:
        return False
    if a is None:
        return True
    return not set(map(str, a)) <= set(map(str, b))


def _keypoints(t: str, a: Any, b: Any, count: Any) -> list[CatalogChange]:
    if _j(a) == _j(b):
        return []
    old, new = list(a or []), list(b or [])
    out: list[CatalogChange] = []
    for i in range(max(len(old), len(new))):
        x = old[i] if i < len(old) else None
        y = new[i] if i < len(new) else None
        if _j(x) == _j(y):
            continue
        if x is None:
            out.append(CatalogChange("+", f"{t} keypoints definition {i} ({_npoints(y)} points)"))
        elif y is None:
            out.append(CatalogChange("-", f"{t} keypoints definition {i}", True, count(t)))
        else:
            what = f"{_npoints(x)} -> {_npoints(y)} points" if _npoints(x) != _npoints(y) else "names, lines or parents"
            out.append(CatalogChange("~", f"{t} keypoints: definition {i} changed ({what})", True, count(t)))
    return out


def _npoints(defn: Any) -> int:
    return int(defn.get("number", 0)) if isinstance(defn, Mapping) else 0
