"""A TensorBay catalog (``api/tensorbay.md`` §4.1) indexed for checking labels quickly.

:class:`CatalogIndex` maps each label type to its category names, mask category ids,
attributes (global and per parent category) and keypoint definitions;
:func:`compile_attribute` turns an attribute spec into a fast predicate. The label types
(:data:`LABEL_TYPES`) live here too; geometry keys are :data:`labelsync.state.GEOMETRY_KEY`. Pure: no I/O.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from labelsync.local.labels import is_number
from labelsync.state import GEOMETRY_KEY, MASK_TYPES

LABEL_TYPES = (
    "CLASSIFICATION",
    "BOX2D",
    "BOX3D",
    "POLYGON",
    "MULTI_POLYGON",
    "RLE",
    "POLYLINE2D",
    "MULTI_POLYLINE2D",
    "KEYPOINTS2D",
    "SENTENCE",
    *MASK_TYPES,
)

_COMMON = frozenset(("category", "attributes", "instance"))
ALLOWED_KEYS = {t: _COMMON | {g} for t, g in GEOMETRY_KEY.items()}
ALLOWED_KEYS["POLYLINE2D"] = ALLOWED_KEYS["POLYLINE2D"] | {"beizerPointTypes"}
ALLOWED_KEYS["SENTENCE"] = frozenset(("sentence", "spell", "phone", "attributes"))
MASK_INFO_KEYS = {
    "SEMANTIC_MASK": (("categoryId",), frozenset(("categoryId", "attributes"))),
    "INSTANCE_MASK": (("instanceId",), frozenset(("instanceId", "attributes"))),
    "PANOPTIC_MASK": (("instanceId", "categoryId"), frozenset(("instanceId", "categoryId", "attributes"))),
}

NUMBER_TYPES = (int, float)
JsonPath = tuple[str | int, ...]
Add = Callable[..., None]


def json_text(value: Any) -> str:
    """A value as it is written in JSON (for messages)."""
    return json.dumps(value, ensure_ascii=False)


def has_type(value: Any, t: str) -> bool:
    if t == "boolean":
        return isinstance(value, bool)
    if t == "integer":
        return type(value) is int
    if t == "number":
        return is_number(value)
    if t == "string":
        return isinstance(value, str)
    if t == "array":
        return isinstance(value, list)
    if t == "null":
        return value is None
    if t == "instance":
        return isinstance(value, str) or type(value) is int
    return True  # an unknown type name is the manifest's problem, reported there


def same_json(a: Any, b: Any) -> bool:
    """JSON equality: ``true`` is not ``1`` and ``1`` equals ``1.0``."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return bool(a == b)
    return type(a) is type(b) and a == b


_PY_TYPES: dict[str, tuple[type, ...]] = {
    "boolean": (bool,),
    "integer": (int,),
    "number": (int, float),
    "string": (str,),
    "array": (list,),
    "null": (type(None),),
    "instance": (str, int),
}


def compile_attribute(spec: Mapping[str, Any]) -> Callable[[Any], bool]:
    """A fast predicate: True when ``v`` satisfies ``spec`` (False: run the detailed check).

    JSON values only (``json.loads`` output, no NaN): ``type(v)`` tells bool from int.
    """
    types = spec.get("type")
    allowed: frozenset[type] | None = None
    if types is not None:
        names = [types] if isinstance(types, str) else list(types)
        if names and all(n in _PY_TYPES for n in names):
            allowed = frozenset(t for n in names for t in _PY_TYPES[n])
    enum = spec.get("enum")
    enum_keys: frozenset[Any] | None = None
    if enum is not None:
        try:
            enum_keys = frozenset((type(e) is bool, e) for e in enum)
        except TypeError:  # an unhashable enum member: always take the detailed path
            return lambda v: False
    lo, hi = spec.get("minimum"), spec.get("maximum")
    items = spec.get("items")
    item_ok = compile_attribute(items) if isinstance(items, Mapping) else None

    def ok(v: Any) -> bool:
        t = type(v)
        if allowed is not None and t not in allowed:
            return False
        if enum_keys is not None:
            try:
                if (t is bool, v) not in enum_keys:
                    return False
            except TypeError:
                return False
        if (t is int or t is float) and ((lo is not None and v < lo) or (hi is not None and v > hi)):
            return False
        return not (item_ok is not None and t is list and not all(item_ok(x) for x in v))

    return ok


class CatalogIndex:
    """A TensorBay catalog (§4.1) indexed for checking labels quickly."""

    def __init__(self, catalog: Mapping[str, Any]) -> None:
        self.types: dict[str, Mapping[str, Any]] = {k: (v or {}) for k, v in catalog.items()}
        self.categories: dict[str, set[str]] = {}
        self.mask_ids: dict[str, dict[int, str]] = {}
        self.global_attrs: dict[str, dict[str, Mapping[str, Any]]] = {}
        self.parent_attrs: dict[str, dict[tuple[str, str], Mapping[str, Any]]] = {}
        self.attr_names: dict[str, set[str]] = {}
        self.attr_ok: dict[int, Callable[[Any], bool]] = {}
        """``id(attribute spec)`` -> its fast predicate."""
        for t, sub in self.types.items():
            cats = sub.get("categories") or []
            self.categories[t] = {
                c["name"] for c in cats if isinstance(c, Mapping) and isinstance(c.get("name"), str)
            }
            self.mask_ids[t] = {
                c["categoryId"]: c.get("name", "")
                for c in cats
                if isinstance(c, Mapping) and isinstance(c.get("categoryId"), int)
            }
            g: dict[str, Mapping[str, Any]] = {}
            p: dict[tuple[str, str], Mapping[str, Any]] = {}
            for a in sub.get("attributes") or []:
                if not isinstance(a, Mapping) or not isinstance(a.get("name"), str):
                    continue
                self.attr_ok[id(a)] = compile_attribute(a)
                parents = a.get("parentCategories")
                if parents:
                    for parent in parents:
                        p[(parent, a["name"])] = a
                else:
                    g[a["name"]] = a
            self.global_attrs[t] = g
            self.parent_attrs[t] = p
            self.attr_names[t] = set(g) | {name for _, name in p}

    def keypoints_for(self, category: str | None) -> Mapping[str, Any] | None:
        """The KEYPOINTS2D definition for a category: its own, else the one without parents."""
        defs = [d for d in self.types.get("KEYPOINTS2D", {}).get("keypoints") or [] if isinstance(d, Mapping)]
        if category is not None:
            for d in defs:
                if category in (d.get("parentCategories") or ()):
                    return d
        general = [d for d in defs if not d.get("parentCategories")]
        if general:
            return general[0]
        return defs[0] if len(defs) == 1 else None
