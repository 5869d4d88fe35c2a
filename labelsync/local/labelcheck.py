"""Validate a label file against a TensorBay catalog, reporting every problem at once.

:func:`check_labels` reads a label file (format: :mod:`labelsync.local.labels`) and returns
one :class:`~labelsync.diagnostics.Diagnostic` per problem, each with the file, the 1-based
line and column where the offending value starts, and its JSON path inside the line
(``label.BOX2D[0].box2d.xmin``). It never raises for anything the file can contain; only an
unreadable file (missing, not UTF-8) raises :class:`~labelsync.errors.LocalDataError`.

The rules, per line:

* the line is a JSON object with ``remotePath``, ``label`` and optionally ``timestamp``;
  a remotePath appears once per file and, when ``known_paths`` is given, names a data file;
* every key of ``label`` is a TensorBay label type (§4) that the catalog declares;
* geometry has the shape of its type: BOX2D ``xmin/ymin/xmax/ymax`` numbers with
  ``xmin <= xmax`` and ``ymin <= ymax``; BOX3D ``translation {x,y,z}``, ``rotation {w,x,y,z}``,
  ``size {x,y,z}``; POLYGON at least 3 ``{x,y}`` points (each polygon of MULTI_POLYGON too);
  POLYLINE2D at least 2 points (each line of MULTI_POLYLINE2D too) and a ``beizerPointTypes``
  of ``L``/``C`` with one character per point (required when the catalog sets
  ``isBeizerCurve``); RLE non-negative integers; KEYPOINTS2D ``{x,y,v?}`` points, as many as
  the catalog's keypoints definition for the label's category says, ``v`` in 0..2 (TERNARY)
  or 0..1 (BINARY); SENTENCE ``sentence/spell/phone`` lists of ``{text, begin?, end?}``;
  CLASSIFICATION a category and/or attributes; masks ``{"path", "info"?}`` (see below);
* ``category`` is one of the catalog's category names for that type (exact match);
  ``instance`` is a string; unknown keys are errors;
* each attribute is declared for the type, globally or for the label's category through
  ``parentCategories``, and its value has a declared ``type`` (one or a list; ``array``
  items are checked against ``items``), is in ``enum`` and within ``minimum``/``maximum``;
* a mask ``path`` is relative to the label file, stays inside ``root`` when given, and the
  file exists; ``info`` items carry a declared ``categoryId`` (SEMANTIC, PANOPTIC) and/or an
  ``instanceId`` (INSTANCE, PANOPTIC), and declared attributes.
"""

from __future__ import annotations

import difflib
import json
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from labelsync.diagnostics import Diagnostic, json_type
from labelsync.errors import LocalDataError
from labelsync.local.jsonpos import format_path, locate
from labelsync.local.labels import is_number, iter_lines, parse_line, record_problems
from labelsync.local.paths import resolve_inside
from labelsync.state import MASK_TYPES

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

GEOMETRY_KEY = {
    "BOX2D": "box2d",
    "BOX3D": "box3d",
    "POLYGON": "polygon",
    "MULTI_POLYGON": "multiPolygon",
    "RLE": "rle",
    "POLYLINE2D": "polyline2d",
    "MULTI_POLYLINE2D": "multiPolyline2d",
    "KEYPOINTS2D": "keypoints2d",
}
_COMMON = frozenset(("category", "attributes", "instance"))
_ALLOWED = {t: _COMMON | {g} for t, g in GEOMETRY_KEY.items()}
_ALLOWED["POLYLINE2D"] = _ALLOWED["POLYLINE2D"] | {"beizerPointTypes"}
_ALLOWED["SENTENCE"] = frozenset(("sentence", "spell", "phone", "attributes"))
_MASK_INFO_KEYS = {
    "SEMANTIC_MASK": (("categoryId",), frozenset(("categoryId", "attributes"))),
    "INSTANCE_MASK": (("instanceId",), frozenset(("instanceId", "attributes"))),
    "PANOPTIC_MASK": (("instanceId", "categoryId"), frozenset(("instanceId", "categoryId", "attributes"))),
}

_NUM = (int, float)
Path_ = tuple[str | int, ...]
Add = Callable[..., None]


def json_text(value: Any) -> str:
    """A value as it is written in JSON (for messages)."""
    return json.dumps(value, ensure_ascii=False)


def _has_type(value: Any, t: str) -> bool:
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


def _same(a: Any, b: Any) -> bool:
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


class _LineChecker:
    """Checks the label of one line; problems go to ``add(path, message, hint=None)``."""

    def __init__(self, cat: CatalogIndex, add: Add, mask_base: Path, root: Path | None) -> None:
        self.cat = cat
        self.add = add
        self.mask_base = mask_base
        self.root = root

    # -- shared pieces ---------------------------------------------------------------

    def number(self, obj: Mapping[str, Any], key: str, path: Path_) -> bool:
        if key not in obj:
            self.add(path, f"missing {key!r}")
            return False
        if not is_number(obj[key]):
            self.add((*path, key), f"{key!r} must be a number, got {json_type(obj[key])}")
            return False
        return True

    def vector(self, value: Any, keys: tuple[str, ...], path: Path_, what: str) -> bool:
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

    def points(self, value: Any, path: Path_, what: str, minimum: int, with_v: bool = False) -> int | None:
        """Check a list of ``{x, y}`` (``v`` too with ``with_v``); return its length or None."""
        if not isinstance(value, list):
            self.add(path, f'{what} must be a list of points {{"x", "y"}}')
            return None
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

    def attributes(self, t: str, category: str | None, value: Any, path: Path_) -> None:
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

    def value(self, spec: Mapping[str, Any], v: Any, name: str, path: Path_) -> None:
        types = spec.get("type")
        if types is not None:
            tlist = [types] if isinstance(types, str) else list(types)
            if tlist and not any(_has_type(v, t) for t in tlist):
                self.add(path, f"attribute {name!r} must be {' or '.join(tlist)}, got {json_type(v)}")
                return
        enum = spec.get("enum")
        if enum is not None and not any(_same(v, e) for e in enum):
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

    def category(self, t: str, obj: Mapping[str, Any], path: Path_) -> str | None:
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

    def common(self, t: str, obj: Mapping[str, Any], path: Path_) -> str | None:
        """Unknown keys, category, instance and attributes of one label object."""
        allowed = _ALLOWED[t]
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

    def label(self, label: Mapping[str, Any], path: Path_) -> None:
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

    def classification(self, value: Any, path: Path_) -> None:
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

    def object(self, t: str, obj: Mapping[str, Any], path: Path_) -> None:
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
                and type(geo.get("xmin")) in _NUM
                and type(geo.get("ymin")) in _NUM
                and type(geo.get("xmax")) in _NUM
                and type(geo.get("ymax")) in _NUM
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
            for i, x in enumerate(geo):
                if type(x) is not int or x < 0:
                    self.add((*gp, i), f"RLE counts must be non-negative integers, got {json_text(x)}")
        elif t == "KEYPOINTS2D":
            self.keypoints(geo, gp, category)

    def beizer(self, obj: Mapping[str, Any], n: int | None, path: Path_) -> None:
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

    def keypoints(self, geo: Any, gp: Path_, category: str | None) -> None:
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
        for i, p in enumerate(geo):
            if isinstance(p, dict) and "v" in p and (type(p["v"]) is not int or p["v"] not in allowed):
                mode = visible or "TERNARY"
                self.add(
                    (*gp, i, "v"),
                    f"keypoint visibility 'v' must be {', '.join(map(str, allowed))} ({mode}), got {json_text(p['v'])}",
                )

    def words(self, value: Any, path: Path_, key: str) -> None:
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

    def mask(self, t: str, value: Any, path: Path_) -> None:
        if not isinstance(value, dict):
            self.add(path, f'{t} must be an object {{"path", "info"?}}, got {json_type(value)}')
            return
        for k in value:
            if k not in ("path", "info"):
                self.add(
                    (*path, k),
                    f"unknown key {k!r} in {t}",
                    "reference the mask image with 'path' (relative to the label file)",
                )
        if "path" not in value:
            self.add(path, "missing 'path'", "the mask image, relative to the label file")
        elif not isinstance(value["path"], str) or not value["path"]:
            self.add((*path, "path"), "'path' must be a non-empty string")
        else:
            self.mask_file(value["path"], (*path, "path"))
        required, allowed = _MASK_INFO_KEYS[t]
        if "info" not in value:
            if t == "PANOPTIC_MASK":
                self.add(
                    path, "missing 'info' (PANOPTIC_MASK needs it)", 'write "info": [] when there is none'
                )
            return
        info = value["info"]
        if not isinstance(info, list):
            self.add((*path, "info"), f"'info' must be a list, got {json_type(info)}")
            return
        ids = self.cat.mask_ids.get(t, {})
        for i, item in enumerate(info):
            ip = (*path, "info", i)
            if not isinstance(item, dict):
                self.add(ip, f"an info item must be an object, got {json_type(item)}")
                continue
            for k in item:
                if k not in allowed:
                    self.add(
                        (*ip, k),
                        f"unknown key {k!r} in a {t} info item",
                        f"expected {', '.join(sorted(allowed))}",
                    )
            for k in required:
                if k not in item:
                    self.add(ip, f"missing {k!r}")
                elif type(item[k]) is not int:
                    self.add((*ip, k), f"{k!r} must be an integer, got {json_type(item[k])}")
            category: str | None = None
            cid = item.get("categoryId")
            if "categoryId" in allowed and type(cid) is int:
                if cid not in ids:
                    self.add(
                        (*ip, "categoryId"),
                        f"undeclared categoryId {cid} for {t}",
                        f"declare it in spec.catalog.{t}.categories",
                    )
                else:
                    category = ids[cid]
            if "attributes" in item:
                self.attributes(t, category, item["attributes"], (*ip, "attributes"))

    def mask_file(self, rel: str, path: Path_) -> None:
        if self.root is not None:
            try:
                target = resolve_inside(self.root, self.mask_base, rel)
            except LocalDataError as exc:
                self.add(path, f"mask {exc.message}", exc.hint)
                return
        else:
            if os.path.isabs(rel):
                self.add(path, f"mask path {rel!r} is absolute", "write it relative to the label file")
                return
            target = self.mask_base / rel
        if not os.path.isfile(target):
            self.add(path, f"mask file {rel!r} does not exist", "mask paths are relative to the label file")


def check_labels(
    label_file: Path,
    catalog: Mapping[str, Any],
    known_paths: set[str] | frozenset[str] | None = None,
    *,
    root: Path | None = None,
    display: str | None = None,
) -> list[Diagnostic]:
    """Every problem of ``label_file`` against ``catalog`` (TensorBay catalog JSON, §4.1).

    ``known_paths``: the remote paths of the segment's data files; a label for any other
    path is an error (``None`` skips the check). ``root``: the repository root that mask
    paths must stay inside (``None``: only absolute paths are refused). ``display``: the
    file name used in messages (default ``str(label_file)``). Raises
    :class:`LocalDataError` only when the file cannot be read.
    """
    file = display if display is not None else str(label_file)
    cat = CatalogIndex(catalog)
    out: list[Diagnostic] = []
    first_line: dict[str, int] = {}
    mask_base = label_file.parent
    for n, text in iter_lines(label_file):
        line_problems: list[tuple[Path_, str, str | None]] = []

        def add(path: Path_, message: str, hint: str | None = None, _p: list[Any] = line_problems) -> None:
            _p.append((path, message, hint))

        obj, err = parse_line(text)
        if err is not None:
            message, col = err
            out.append(Diagnostic(file, n, col, message, "", "one JSON object per line"))
            continue
        line_problems.extend(record_problems(obj))
        if isinstance(obj, dict):
            rp = obj.get("remotePath")
            if isinstance(rp, str):
                if rp in first_line:
                    add(
                        ("remotePath",),
                        f"duplicate remotePath {rp!r} (first on line {first_line[rp]})",
                        "merge the two lines into one",
                    )
                else:
                    first_line[rp] = n
                    if known_paths is not None and rp not in known_paths:
                        add(
                            ("remotePath",),
                            f"no data file {rp!r} in the data directory",
                            "label only files the segment's data selects",
                        )
            label = obj.get("label")
            if isinstance(label, dict):
                _LineChecker(cat, add, mask_base, root).label(label, ("label",))
        located = [
            (locate(text, jpath, key=message.startswith("unknown key")), jpath, message, hint)
            for jpath, message, hint in line_problems
        ]
        located.sort(key=lambda x: x[0])
        for col, jpath, message, hint in located:
            out.append(Diagnostic(file, n, col, message, format_path(jpath), hint))
    return out
