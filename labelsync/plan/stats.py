"""Label statistics of a dataset, and their difference between two states (pure).

:func:`dataset_stats` describes one side (the local labels, or the remote's listed ones) as
JSON, per segment and label type::

    {"segments": {"train": {"items": 3, "unlabelled": 1,
        "types": {"BOX2D": {"labels": 3, "categories": {"car": 2, "pedestrian": 1},
                            "attributes": {"occluded": {"false": 2, "true": 1}}}}}}}

Attribute values are counted for enum attributes (an ``enum`` or a ``boolean`` type in the
catalog), keyed by their compact JSON (``"red"`` is ``'"red"'``, true is ``"true"``).
:func:`stat_rows` lines two sides up as rows ``before -> after`` with the delta, the input
of the text and markdown tables (``labelsync/plan/render_stats.py``); a side whose ``items``
is ``None`` did not count items (a remote's totals), and gets no item rows. Given a plan's renames
(:class:`labelsync.renames.Renames` or its JSON), the before side is read with the new names,
so a renamed category is one row ``bus -> coach  312 -> 312`` (``StatRow.renamed``) rather
than ``bus 312 -> 0`` and ``coach 0 -> 312``; renamed attributes and enum values likewise.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from labelsync.renames import Renames, TypeRenames, canon
from labelsync.state import Dataset, Item

__all__ = ["MASK_TYPES", "StatRow", "catalog_categories", "dataset_stats", "enum_only", "mask_categories", "plan_stats", "pooled", "stat_rows", "touches"]

MASK_TYPES = ("SEMANTIC_MASK", "INSTANCE_MASK", "PANOPTIC_MASK")

_CANON = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _enum_attributes(catalog: Mapping[str, Any]) -> dict[str, set[str]]:
    """Label type -> names of its enum (or boolean) attributes."""
    out: dict[str, set[str]] = {}
    for label_type, spec in catalog.items():
        names = set()
        for attr in (spec or {}).get("attributes", []) if isinstance(spec, Mapping) else []:
            if isinstance(attr, Mapping) and ("enum" in attr or attr.get("type") == "boolean"):
                names.add(str(attr.get("name")))
        out[label_type] = names
    return out


def _labels(item: Item) -> Iterable[tuple[str, Any]]:
    label = item.label if isinstance(item.label, Mapping) else {}
    for label_type, value in label.items():
        if isinstance(value, list):
            for one in value:
                yield label_type, one
        elif value is not None:
            yield label_type, value


def dataset_stats(dataset: Dataset | None, catalog: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The statistics of ``dataset`` (``{"segments": {}}`` for ``None``); enum attributes are
    those of ``catalog`` (default: the dataset's own)."""
    if dataset is None:
        return {"segments": {}}
    enums = _enum_attributes(catalog if catalog is not None else dataset.catalog)
    segments: dict[str, Any] = {}
    for name, segment in dataset.segments.items():
        types: dict[str, Any] = {}
        unlabelled = 0
        for item in segment.items.values():
            found = False
            for label_type, one in _labels(item):
                found = True
                entry = types.setdefault(label_type, {"labels": 0, "categories": {}, "attributes": {}})
                entry["labels"] += 1
                if isinstance(one, Mapping):
                    category = one.get("category")
                    if isinstance(category, str):
                        entry["categories"][category] = entry["categories"].get(category, 0) + 1
                    attrs = one.get("attributes")
                    for attr, value in (attrs.items() if isinstance(attrs, Mapping) else ()):
                        counts = entry["attributes"].setdefault(attr, {})
                        key = _CANON.encode(value) if attr in enums.get(label_type, ()) else "*"
                        counts[key] = counts.get(key, 0) + 1
            unlabelled += not found
        segments[name] = {"items": len(segment.items), "unlabelled": unlabelled, "types": types}
    return {"segments": segments}


def mask_categories(catalog: Mapping[str, Any]) -> dict[str, dict[str, str]]:
    """Mask type -> ``{str(categoryId): category name}`` of ``catalog`` (what a mask pixel
    value means: a semantic mask's value is a category id; a panoptic mask's value is an
    instance whose ``info`` names its category id; an instance mask's catalog names only
    special values). Types without ids are left out."""
    out: dict[str, dict[str, str]] = {}
    for mask_type in MASK_TYPES:
        spec = catalog.get(mask_type)
        ids = {
            str(c["categoryId"]): str(c.get("name", ""))
            for c in (spec or {}).get("categories") or [] if isinstance(spec, Mapping)
            if isinstance(c, Mapping) and isinstance(c.get("categoryId"), int)
        }
        if ids:
            out[mask_type] = ids
    return out


def catalog_categories(catalog: Mapping[str, Any]) -> list[list[str]]:
    """``[[label type, category name], ...]`` of ``catalog`` in its order (label types as
    listed, each type's categories as listed): the HTML report assigns category colours in
    this order. A list of pairs, so the order survives any JSON round trip."""
    out: list[list[str]] = []
    for label_type, spec in catalog.items():
        for c in (spec or {}).get("categories") or [] if isinstance(spec, Mapping) else []:
            if isinstance(c, Mapping) and isinstance(c.get("name"), str) and c["name"]:
                out.append([str(label_type), c["name"]])
    return out


def plan_stats(live: Dataset | None, desired: Dataset) -> dict[str, Any]:
    """``{"before": live stats, "after": desired stats}``, enum attributes from either catalog;
    with ``"masks"``: the desired catalog's :func:`mask_categories` when it has any (the
    HTML report colours mask pixels by category with it); with ``"categories"``: the desired
    catalog's :func:`catalog_categories` when it has any (the report's colour order)."""
    catalog = {**(dict(live.catalog) if live else {})}
    for label_type, spec in desired.catalog.items():
        old = catalog.get(label_type) or {}
        attrs = [*(old.get("attributes") or []), *((spec or {}).get("attributes") or [])]
        catalog[label_type] = {**(spec or {}), "attributes": attrs}
    out: dict[str, Any] = {"before": dataset_stats(live, catalog), "after": dataset_stats(desired, catalog)}
    masks = mask_categories(desired.catalog)
    if masks:
        out["masks"] = masks
    categories = catalog_categories(desired.catalog)
    if categories:
        out["categories"] = categories
    return out


def pooled(stats: Mapping[str, Any], name: str, *, leave_out: Iterable[str] = ()) -> dict[str, Any]:
    """One side's statistics with every segment summed into one segment ``name`` (to line
    up with a remote that counts the whole dataset), without the label types ``leave_out``."""
    skip = set(leave_out)
    total: dict[str, Any] = {"items": 0, "unlabelled": 0, "types": {}}
    for seg in (stats.get("segments") or {}).values():
        for key in ("items", "unlabelled"):
            total[key] = None if total[key] is None or seg.get(key) is None else total[key] + int(seg[key])
        for label_type, entry in (seg.get("types") or {}).items():
            if label_type in skip:
                continue
            into = total["types"].setdefault(label_type, {"labels": 0, "categories": {}, "attributes": {}})
            into["labels"] += int(entry.get("labels", 0))
            for cat, n in (entry.get("categories") or {}).items():
                into["categories"][cat] = into["categories"].get(cat, 0) + int(n)
            for attr, counts in (entry.get("attributes") or {}).items():
                values = into["attributes"].setdefault(attr, {})
                for value, n in (counts or {}).items():
                    values[value] = values.get(value, 0) + int(n)
    return {"segments": {name: total}}


def enum_only(stats: Mapping[str, Any], catalog: Mapping[str, Any]) -> dict[str, Any]:
    """A side whose attribute values are all counted (a remote's totals) with the values of
    attributes that are not enums in ``catalog`` folded into ``"*"``, like :func:`dataset_stats`."""
    enums = _enum_attributes(catalog)
    segments: dict[str, Any] = {}
    for name, seg in (stats.get("segments") or {}).items():
        types = {}
        for label_type, entry in (seg.get("types") or {}).items():
            attrs = {}
            for attr, counts in (entry.get("attributes") or {}).items():
                if attr in enums.get(label_type, ()):
                    attrs[attr] = dict(counts)
                else:
                    attrs[attr] = {"*": sum(int(n) for n in counts.values())}
            types[label_type] = {**entry, "attributes": attrs}
        segments[name] = {**seg, "types": types}
    return {**stats, "segments": segments}


@dataclass(frozen=True, slots=True)
class StatRow:
    """One line of a statistics table.

    ``what`` is ``items``/``unlabelled`` (``type`` and ``name`` empty), ``labels`` (all labels
    of ``type``), ``category`` (``name`` is the category) or ``attribute`` (``name`` is
    ``attr=value``, or ``attr`` for a non-enum attribute). ``renamed`` is True when the row
    follows a rename (``name`` then reads ``bus -> coach``, ``colour="red" -> "crimson"``); a
    renamed row counts as changed even when its counts are equal.
    """

    segment: str
    what: str
    type: str
    name: str
    before: int
    after: int
    renamed: bool = False

    @property
    def delta(self) -> int:
        return self.after - self.before

    @property
    def changed(self) -> bool:
        return self.before != self.after or self.renamed


def _entry(stats: Mapping[str, Any] | None, segment: str) -> Mapping[str, Any]:
    return ((stats or {}).get("segments") or {}).get(segment) or {}


def _follow(types: Mapping[str, Any], renames: Renames) -> tuple[dict[str, Any], dict[tuple[str, ...], str]]:
    """One side's ``types`` with ``renames`` followed (counts of old and new names merged),
    and the display names of the rows that follow a rename, keyed ``(type, category)`` or
    ``(type, attribute, value key)``."""
    out: dict[str, Any] = {}
    shown: dict[tuple[str, ...], str] = {}
    for label_type, entry in types.items():
        r = renames.types.get(label_type) or TypeRenames()
        entry = entry or {}
        cats: dict[str, int] = {}
        for cat, n in (entry.get("categories") or {}).items():
            new = r.categories.get(cat, cat)
            cats[new] = cats.get(new, 0) + int(n)
            if new != cat:
                shown[(label_type, new)] = f"{cat} -> {new}"
        attrs: dict[str, dict[str, int]] = {}
        for attr, counts in (entry.get("attributes") or {}).items():
            new_attr = r.attributes.get(attr, attr)
            into = attrs.setdefault(new_attr, {})
            for key, n in (counts or {}).items():
                new_key = key if key == "*" else canon(r.value(new_attr, json.loads(key)))
                into[new_key] = into.get(new_key, 0) + int(n)
                if new_attr != attr or new_key != key:
                    a = f"{attr} -> {new_attr}" if new_attr != attr else attr
                    v = "" if key == "*" else (f"={key} -> {new_key}" if new_key != key else f"={key}")
                    shown[(label_type, new_attr, new_key)] = a + v
        out[label_type] = {**entry, "categories": cats, "attributes": attrs}
    return out, shown


def stat_rows(before: Mapping[str, Any] | None, after: Mapping[str, Any] | None, renames: Any = None) -> list[StatRow]:
    """Every row of the two sides, in segment order (after's first), then type and name;
    ``before`` read with ``renames`` (a plan's, see the module docstring) followed."""
    r = renames if isinstance(renames, Renames) else Renames.from_json(renames) if renames else Renames()
    seg_names = list((after or {}).get("segments") or {})
    seg_names += [s for s in ((before or {}).get("segments") or {}) if s not in seg_names]
    rows: list[StatRow] = []
    for seg in seg_names:
        a, b = _entry(before, seg), _entry(after, seg)
        for what in ("items", "unlabelled"):  # None: that side did not count items
            if a.get(what, 0) is not None and b.get(what, 0) is not None:
                rows.append(StatRow(seg, what, "", "", int(a.get(what, 0)), int(b.get(what, 0))))
        ta, tb = a.get("types") or {}, b.get("types") or {}
        shown: dict[tuple[str, ...], str] = {}
        if r:
            ta, shown = _follow(ta, r)
        for label_type in sorted(set(ta) | set(tb)):
            x, y = ta.get(label_type) or {}, tb.get(label_type) or {}
            rows.append(StatRow(seg, "labels", label_type, "", int(x.get("labels", 0)), int(y.get("labels", 0))))
            ca, cb = x.get("categories") or {}, y.get("categories") or {}
            for cat in sorted(set(ca) | set(cb)):
                label = shown.get((label_type, cat))
                rows.append(StatRow(seg, "category", label_type, label or cat, int(ca.get(cat, 0)), int(cb.get(cat, 0)), label is not None))
            aa, ab = x.get("attributes") or {}, y.get("attributes") or {}
            for attr in sorted(set(aa) | set(ab)):
                va, vb = aa.get(attr) or {}, ab.get(attr) or {}
                for value in sorted(set(va) | set(vb)):
                    label = shown.get((label_type, attr, value))
                    name = label or (attr if value == "*" else f"{attr}={value}")
                    rows.append(StatRow(seg, "attribute", label_type, name, int(va.get(value, 0)), int(vb.get(value, 0)), label is not None))
    return rows


def touches(stats: Mapping[str, Any] | None, label_type: str, *, category: str | None = None,
            attribute: str | None = None, values: Iterable[str] | None = None) -> int:
    """How many labels of ``stats`` (one side) of ``label_type`` have ``category``, or carry
    ``attribute`` (with one of ``values``, compact JSON, when given); all labels of the type
    when neither is given."""
    total = 0
    wanted = set(values) if values is not None else None
    for seg in ((stats or {}).get("segments") or {}).values():
        entry = (seg.get("types") or {}).get(label_type) or {}
        if category is not None:
            total += int((entry.get("categories") or {}).get(category, 0))
        elif attribute is not None:
            counts = (entry.get("attributes") or {}).get(attribute) or {}
            total += sum(int(n) for v, n in counts.items() if wanted is None or v in wanted)
        else:
            total += int(entry.get("labels", 0))
    return total
