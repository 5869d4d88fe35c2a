"""The per-label rules of label checking: one item's TensorBay label against the catalog.

:class:`LabelChecker` checks one ``label`` object (shape of each type's geometry, categories,
attributes, keypoint counts, masks) and reports each problem through a callback, with the
JSON path of the offending value; callers locate it (a JSONL line and column, or the file of
a foreign format). The rules are listed in :mod:`labelsync.local.labelcheck`.
"""

from __future__ import annotations

import difflib
import math
import operator
from collections.abc import Mapping
from itertools import chain
from pathlib import Path
from typing import Any

from labelsync.diagnostics import json_type
from labelsync.local.catalogindex import (
    ALLOWED_KEYS,
    GEOMETRY_KEY,
    LABEL_TYPES,
    NUMBER_TYPES,
    Add,
    CatalogIndex,
    JsonPath,
    has_type,
    json_text,
    same_json,
)
from labelsync.local.labels import is_number
from labelsync.local.maskrules import MaskRules
from labelsync.state import MASK_TYPES

_XY = operator.itemgetter("x", "y")
_XYV = operator.itemgetter("x", "y", "v")
_V = operator.itemgetter("v")
_DICT = frozenset((dict,))
_INT = frozenset((int,))
_NUMBERS = frozenset(NUMBER_TYPES)


def _plain_points(points: list[Any], with_v: bool) -> bool:
    """True when every point is a dict of exactly ``x``, ``y`` (and ``v`` with ``with_v``)
    holding finite numbers: the common case, checked in C over the whole list. False means
    "look closer" (the per-point checks), not that a point is wrong."""
    if not points:
        return True
    if set(map(type, points)) != _DICT or set(map(len, points)) != ({3} if with_v else {2}):
        return False
    try:
        values = list(chain.from_iterable(map(_XYV if with_v else _XY, points)))
    except KeyError:
        return False
    return set(map(type, values)) <= _NUMBERS and math.isfinite(sum(values))


def _plain_visibility(points: list[Any], allowed: tuple[int, ...]) -> bool:
    """True when every point is a dict with an integer ``v`` in ``allowed`` (checked in C)."""
    if set(map(type, points)) != _DICT:
        return False
    try:
        vs = list(map(_V, points))
    except KeyError:
        return False
    return set(map(type, vs)) <= _INT and set(vs) <= set(allowed)


class LabelChecker(MaskRules):
    """Checks one item's label against a catalog; problems go to ``add(path, message, hint=None)``.

    ``path`` is the JSON path of the offending value (starting with the caller's prefix,
    e.g. ``("label",)``); mask paths are resolved against ``mask_base`` and must stay inside
    ``root`` when it is given. The rules are listed in :mod:`labelsync.local.labelcheck`.
    """

    def __init__(self, cat: CatalogIndex, add: Add, mask_base: Path, root: Path | None) -> None:
        self.cat = cat
        self.add = add
        self.mask_base = mask_base
        self.root = root

    # -- shared pieces ---------------------------------------------------------------

    def number(self, obj: Mapping[str, Any], key: str, path: JsonPath) -> bool:
        if key not in obj:
            self.add(path, f"missing {key!r}")
            return False
        if not is_number(obj[key]):
            self.add((*path, key), f"{key!r} must be a number, got {json_type(obj[key])}")
            return False
        return True

    def vector(self, value: Any, keys: tuple[str, ...], path: JsonPath, what: str) -> bool:
        if not isinstance(value, dict):
            self.add(path, f"{what} must be an object with numbers {', '.join(keys)}")
            return False
        ok = True
        for k in keys:
            ok = self.number(value, k, path) and ok
        for k in value:
            if k not in keys:
                self.add((*path, k), f"unknown key {k!r} in {what}", f"expected {', '.join(keys)}")
                ok = False
        return ok

    def points(self, value: Any, path: JsonPath, what: str, minimum: int, with_v: bool = False) -> int | None:
        """Check a list of ``{x, y}`` (``v`` too with ``with_v``); return its length or None."""
        if not isinstance(value, list):
            self.add(path, f'{what} must be a list of points {{"x", "y"}}')
            return None
        if len(value) >= minimum and _plain_points(value, with_v):
            return len(value)
        keys = ("x", "y", "v") if with_v else ("x", "y")
        for i, p in enumerate(value):
            if isinstance(p, dict) and len(p) == 2 and is_number(p.get("x")) and is_number(p.get("y")):
                continue  # the common case, fast
            if not isinstance(p, dict):
                self.add((*path, i), f'a point must be an object {{"x", "y"}}, got {json_type(p)}')
                continue
            self.number(p, "x", (*path, i))
            self.number(p, "y", (*path, i))
            for k in p:
                if k not in keys:
                    self.add((*path, i, k), f"unknown key {k!r} in a point", f"expected {', '.join(keys)}")
        if len(value) < minimum:
            self.add(path, f"{what} needs at least {minimum} points, got {len(value)}")
        return len(value)

    def attributes(self, t: str, category: str | None, value: Any, path: JsonPath) -> None:
        if not isinstance(value, dict):
            self.add(path, f"'attributes' must be an object, got {json_type(value)}")
            return
        glob = self.cat.global_attrs.get(t, {})
        parent = self.cat.parent_attrs.get(t, {})
        for name, v in value.items():
            spec = parent.get((category, name)) if category is not None else None
            if spec is None:
                spec = glob.get(name)
            if spec is None:
                if name in self.cat.attr_names.get(t, ()):
                    self.add(
                        (*path, name),
                        f"attribute {name!r} is not declared for category {category!r} of {t}",
                        "add the category to the attribute's parentCategories",
                    )
                else:
                    near = difflib.get_close_matches(name, sorted(self.cat.attr_names.get(t, ())), n=1)
                    self.add(
                        (*path, name),
                        f"undeclared attribute {name!r} for {t}",
                        f"did you mean {near[0]!r}?"
                        if near
                        else f"declare it in spec.catalog.{t}.attributes",
                    )
                continue
            if not self.cat.attr_ok[id(spec)](v):
                self.value(spec, v, name, (*path, name))

    def value(self, spec: Mapping[str, Any], v: Any, name: str, path: JsonPath) -> None:
        types = spec.get("type")
        if types is not None:
            tlist = [types] if isinstance(types, str) else list(types)
            if tlist and not any(has_type(v, t) for t in tlist):
                self.add(path, f"attribute {name!r} must be {' or '.join(tlist)}, got {json_type(v)}")
                return
        enum = spec.get("enum")
        if enum is not None and not any(same_json(v, e) for e in enum):
            choices = ", ".join(json_text(e) for e in enum)
            self.add(path, f"attribute {name!r} must be one of {choices}, got {json_text(v)}")
            return
        if is_number(v):
            lo, hi = spec.get("minimum"), spec.get("maximum")
            if lo is not None and v < lo:
                self.add(path, f"attribute {name!r} must be >= {json_text(lo)}, got {json_text(v)}")
            if hi is not None and v > hi:
                self.add(path, f"attribute {name!r} must be <= {json_text(hi)}, got {json_text(v)}")
        items = spec.get("items")
        if isinstance(v, list) and isinstance(items, Mapping):
            for i, item in enumerate(v):
                self.value(items, item, f"{name}[{i}]", (*path, i))

    def category(self, t: str, obj: Mapping[str, Any], path: JsonPath) -> str | None:
        if "category" not in obj:
            return None
        c = obj["category"]
        if not isinstance(c, str):
            self.add((*path, "category"), f"'category' must be a string, got {json_type(c)}")
            return None
        declared = self.cat.categories.get(t, set())
        if c not in declared:
            near = difflib.get_close_matches(c, sorted(declared), n=1)
            self.add(
                (*path, "category"),
                f"undeclared category {c!r} for {t}",
                f"did you mean {near[0]!r}?" if near else f"declare it in spec.catalog.{t}.categories",
            )
        return c

    def common(self, t: str, obj: Mapping[str, Any], path: JsonPath) -> str | None:
        """Unknown keys, category, instance and attributes of one label object."""
        allowed = ALLOWED_KEYS[t]
        for k in obj:
            if k not in allowed:
                hint = "SENTENCE labels have no category or instance" if t == "SENTENCE" else None
                if hint is None:
                    near = difflib.get_close_matches(k, sorted(allowed), n=1)
                    hint = f"did you mean {near[0]!r}?" if near else f"expected {', '.join(sorted(allowed))}"
                self.add((*path, k), f"unknown key {k!r} in a {t} label", hint)
        category = self.category(t, obj, path) if "category" in allowed else None
        if "instance" in obj and not isinstance(obj["instance"], str):
            self.add((*path, "instance"), f"'instance' must be a string, got {json_type(obj['instance'])}")
        if "attributes" in obj:
            self.attributes(t, category, obj["attributes"], (*path, "attributes"))
        return category

    # -- per type --------------------------------------------------------------------

    def label(self, label: Mapping[str, Any], path: JsonPath) -> None:
        for t, value in label.items():
            p = (*path, t)
            if t not in LABEL_TYPES:
                near = difflib.get_close_matches(t.upper(), LABEL_TYPES, n=1)
                self.add(p, f"unknown label type {t!r}", f"did you mean {near[0]!r}?" if near else None)
                continue
            if t not in self.cat.types:
                self.add(
                    p,
                    f"label type {t!r} is not in the catalog",
                    f"declare {t} in spec.catalog or remove these labels",
                )
                continue
            if t in MASK_TYPES:
                self.mask(t, value, p)
            elif t == "CLASSIFICATION":
                self.classification(value, p)
            else:
                if not isinstance(value, list):
                    self.add(p, f"{t} must be a list of label objects, got {json_type(value)}")
                    continue
                for i, obj in enumerate(value):
                    if not isinstance(obj, dict):
                        self.add((*p, i), f"a {t} label must be an object, got {json_type(obj)}")
                        continue
                    self.object(t, obj, (*p, i))

    def classification(self, value: Any, path: JsonPath) -> None:
        if not isinstance(value, dict):
            self.add(path, f"CLASSIFICATION must be an object, got {json_type(value)}")
            return
        if "category" not in value and "attributes" not in value:
            self.add(path, "CLASSIFICATION needs a 'category' or 'attributes'")
        for k in value:
            if k not in ("category", "attributes"):
                self.add(
                    (*path, k),
                    f"unknown key {k!r} in a CLASSIFICATION label",
                    "expected category, attributes",
                )
        category = self.category("CLASSIFICATION", value, path)
        if "attributes" in value:
            self.attributes("CLASSIFICATION", category, value["attributes"], (*path, "attributes"))

    def object(self, t: str, obj: Mapping[str, Any], path: JsonPath) -> None:
        category = self.common(t, obj, path)
        if t == "SENTENCE":
            for key in ("sentence", "spell", "phone"):
                if key in obj:
                    self.words(obj[key], (*path, key), key)
            return
        g = GEOMETRY_KEY[t]
        if g not in obj:
            self.add(path, f"missing {g!r}")
            return
        geo = obj[g]
        gp = (*path, g)
        if t == "BOX2D":
            if (
                type(geo) is dict
                and len(geo) == 4
                and type(geo.get("xmin")) in NUMBER_TYPES
                and type(geo.get("ymin")) in NUMBER_TYPES
                and type(geo.get("xmax")) in NUMBER_TYPES
                and type(geo.get("ymax")) in NUMBER_TYPES
                and geo["xmin"] <= geo["xmax"]
                and geo["ymin"] <= geo["ymax"]
            ):
                return  # the common, valid case
            if self.vector(geo, ("xmin", "ymin", "xmax", "ymax"), gp, "box2d"):
                if geo["xmax"] < geo["xmin"]:
                    self.add(
                        gp, f"xmax ({json_text(geo['xmax'])}) is less than xmin ({json_text(geo['xmin'])})"
                    )
                if geo["ymax"] < geo["ymin"]:
                    self.add(
                        gp, f"ymax ({json_text(geo['ymax'])}) is less than ymin ({json_text(geo['ymin'])})"
                    )
        elif t == "BOX3D":
            if not isinstance(geo, dict):
                self.add(gp, "box3d must be an object with translation, rotation and size")
                return
            for k, keys in (
                ("translation", ("x", "y", "z")),
                ("rotation", ("w", "x", "y", "z")),
                ("size", ("x", "y", "z")),
            ):
                if k not in geo:
                    self.add(gp, f"missing {k!r}")
                else:
                    self.vector(geo[k], keys, (*gp, k), k)
            for k in geo:
                if k not in ("translation", "rotation", "size"):
                    self.add((*gp, k), f"unknown key {k!r} in box3d", "expected translation, rotation, size")
        elif t == "POLYGON":
            self.points(geo, gp, "a polygon", 3)
        elif t == "POLYLINE2D":
            n = self.points(geo, gp, "a polyline", 2)
            self.beizer(obj, n, path)
        elif t in ("MULTI_POLYGON", "MULTI_POLYLINE2D"):
            what, minimum = ("a polygon", 3) if t == "MULTI_POLYGON" else ("a polyline", 2)
            if not isinstance(geo, list) or not geo:
                self.add(gp, f"{g!r} must be a non-empty list of {what[2:]}s (lists of points)")
                return
            for i, part in enumerate(geo):
                self.points(part, (*gp, i), what, minimum)
        elif t == "RLE":
            if not isinstance(geo, list):
                self.add(gp, f"'rle' must be a list of integers, got {json_type(geo)}")
                return
            if set(map(type, geo)) <= _INT and (not geo or min(geo) >= 0):
                return
            for i, x in enumerate(geo):
                if type(x) is not int or x < 0:
                    self.add((*gp, i), f"RLE counts must be non-negative integers, got {json_text(x)}")
        elif t == "KEYPOINTS2D":
            self.keypoints(geo, gp, category)

    def beizer(self, obj: Mapping[str, Any], n: int | None, path: JsonPath) -> None:
        curve = bool(self.cat.types.get("POLYLINE2D", {}).get("isBeizerCurve"))
        if "beizerPointTypes" not in obj:
            if curve:
                self.add(
                    path,
                    "missing 'beizerPointTypes' (the catalog sets isBeizerCurve)",
                    "one 'L' or 'C' per point",
                )
            return
        b = obj["beizerPointTypes"]
        bp = (*path, "beizerPointTypes")
        if not isinstance(b, str) or b.strip("LC"):
            self.add(bp, "'beizerPointTypes' must be a string of 'L' (vertex) and 'C' (control point)")
        elif n is not None and len(b) != n:
            self.add(bp, f"'beizerPointTypes' has {len(b)} characters but the polyline has {n} points")

    def keypoints(self, geo: Any, gp: JsonPath, category: str | None) -> None:
        n = self.points(geo, gp, "'keypoints2d'", 0, with_v=True)
        if n is None:
            return
        definition = self.cat.keypoints_for(category)
        if definition is None:
            self.add(
                gp,
                "the catalog has no keypoints definition for this label",
                "add one to spec.catalog.KEYPOINTS2D.keypoints",
            )
            return
        expected = definition.get("number")
        if isinstance(expected, int) and n != expected:
            for_what = f" for category {category!r}" if category is not None else ""
            self.add(gp, f"{n} keypoint{'' if n == 1 else 's'} but the catalog defines {expected}{for_what}")
        visible = definition.get("visible")
        allowed = (0, 1) if visible == "BINARY" else (0, 1, 2)
        if _plain_visibility(geo, allowed):
            return
        for i, p in enumerate(geo):
            if isinstance(p, dict) and "v" in p and (type(p["v"]) is not int or p["v"] not in allowed):
                mode = visible or "TERNARY"
                self.add(
                    (*gp, i, "v"),
                    f"keypoint visibility 'v' must be {', '.join(map(str, allowed))} ({mode}), got {json_text(p['v'])}",
                )

    def words(self, value: Any, path: JsonPath, key: str) -> None:
        if not isinstance(value, list):
            self.add(path, f'{key!r} must be a list of {{"text", "begin"?, "end"?}}, got {json_type(value)}')
            return
        for i, w in enumerate(value):
            wp = (*path, i)
            if not isinstance(w, dict):
                self.add(
                    wp, f'a {key} entry must be an object {{"text", "begin"?, "end"?}}, got {json_type(w)}'
                )
                continue
            if "text" not in w:
                self.add(wp, "missing 'text'")
            elif not isinstance(w["text"], str):
                self.add((*wp, "text"), f"'text' must be a string, got {json_type(w['text'])}")
            for k in ("begin", "end"):
                if k in w and not is_number(w[k]):
                    self.add((*wp, k), f"{k!r} must be a number, got {json_type(w[k])}")
            for k in w:
                if k not in ("text", "begin", "end"):
                    self.add((*wp, k), f"unknown key {k!r} in a {key} entry", "expected text, begin, end")
