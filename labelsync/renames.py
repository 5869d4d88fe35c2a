"""Declared renames of catalog names, and how old-named labels and catalogs follow them (pure).

A manifest declares a rename on the new thing (``labelsync.manifest.model``)::

    BOX2D:
      categories: [{name: coach, renamedFrom: bus}]
      attributes:
        - {name: occluded, renamedFrom: hidden, type: boolean}
        - name: colour
          enum: [crimson, blue]
          renamedValues: [{value: crimson, renamedFrom: red}]

:class:`Renames` holds them per label type (old -> new). It turns values written with the
old names into values with the new ones: :meth:`Renames.label` (a TensorBay label: the
``category`` of each object, the attribute keys, the enum values of renamed values) and
:meth:`Renames.catalog` (category and attribute names, ``parentCategories`` and enum
lists). Applying it twice is the same as once, and a value with no old name comes back
equal. Its JSON form (:meth:`Renames.json`, :meth:`Renames.from_json`), kept in plans::

    {"BOX2D": {"categories": {"bus": "coach"}, "attributes": {"hidden": "occluded"},
               "values": {"colour": [{"from": "red", "to": "crimson"}]}}}

``values`` is keyed by the attribute's *new* name; values are any JSON (compared as
canonical JSON).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Renames", "TypeRenames"]

_CANON = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def canon(value: Any) -> str:
    """Canonical compact JSON of ``value`` (how enum values are compared)."""
    return _CANON.encode(value)


@dataclass(frozen=True)
class TypeRenames:
    """The renames of one label type: ``categories`` and ``attributes`` (old -> new name),
    ``values`` (new attribute name -> [(old value, new value)])."""

    categories: Mapping[str, str] = field(default_factory=dict)
    attributes: Mapping[str, str] = field(default_factory=dict)
    values: Mapping[str, tuple[tuple[Any, Any], ...]] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.categories or self.attributes or any(self.values.values()))

    def value(self, attribute: str, value: Any) -> Any:
        """``value`` of (new-named) ``attribute`` with its renamed value followed."""
        key = canon(value)
        for old, new in self.values.get(attribute, ()):
            if canon(old) == key:
                return new
        return value

    def obj(self, obj: Any) -> Any:
        """One label object (``{"category", "attributes", ...}``) with the renames followed."""
        if not isinstance(obj, Mapping):
            return obj
        out = dict(obj)
        category = out.get("category")
        if isinstance(category, str) and category in self.categories:
            out["category"] = self.categories[category]
        attrs = out.get("attributes")
        if isinstance(attrs, Mapping):
            renamed: dict[str, Any] = {}
            for key, value in attrs.items():
                name = self.attributes.get(key, key)
                if name != key and name in attrs:
                    continue  # both spellings given: the new one wins
                renamed[name] = self.value(name, value)
            out["attributes"] = renamed
        return out


@dataclass(frozen=True)
class Renames:
    """Renames per label type (see the module docstring); empty when none is declared."""

    types: Mapping[str, TypeRenames] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return any(bool(t) for t in self.types.values())

    # ------------------------------------------------------------------ values

    def label(self, label: Any) -> Any:
        """A TensorBay label (``{TYPE: [objects]}`` or ``{TYPE: object}``) with old names
        replaced by new ones; the same object when nothing is renamed in it."""
        if not self or not isinstance(label, Mapping):
            return label
        out: dict[str, Any] | None = None
        for label_type, value in label.items():
            renames = self.types.get(label_type)
            if not renames:
                continue
            new = [renames.obj(o) for o in value] if isinstance(value, list) else renames.obj(value)
            if new != value:
                out = dict(label) if out is None else out
                out[label_type] = new
        return label if out is None else out

    def catalog(self, catalog: Any) -> Any:
        """A TensorBay catalog with old names replaced (categories, attributes, their
        ``parentCategories``, enum values); a name whose new spelling is already there is
        dropped rather than doubled."""
        if not self or not isinstance(catalog, Mapping):
            return catalog
        out = dict(catalog)
        for label_type, renames in self.types.items():
            sub = out.get(label_type)
            if not renames or not isinstance(sub, Mapping):
                continue
            out[label_type] = _renamed_sub(dict(sub), renames)
        return out

    # ------------------------------------------------------------------ views

    def effective(self, live_catalog: Mapping[str, Any] | None) -> Renames:
        """The renames that change something on a remote whose catalog is ``live_catalog``:
        the old name is there and the new one is not (values: the old value is in the
        attribute's enum, under its old or new name, and the new value is not)."""
        live = dict(live_catalog or {})
        kept: dict[str, TypeRenames] = {}
        for label_type, renames in self.types.items():
            sub = live.get(label_type)
            if not isinstance(sub, Mapping):
                continue
            cats = {c.get("name") for c in sub.get("categories") or [] if isinstance(c, Mapping)}
            attrs = {a.get("name"): a for a in sub.get("attributes") or [] if isinstance(a, Mapping)}
            categories = {o: n for o, n in renames.categories.items() if o in cats and n not in cats}
            attributes = {o: n for o, n in renames.attributes.items() if o in attrs and n not in attrs}
            old_name = {n: o for o, n in renames.attributes.items()}
            values: dict[str, tuple[tuple[Any, Any], ...]] = {}
            for attr, pairs in renames.values.items():
                spec = attrs.get(attr) or attrs.get(old_name.get(attr, attr)) or {}
                enum = {canon(v) for v in spec.get("enum") or []}
                found = tuple((o, n) for o, n in pairs if canon(o) in enum and canon(n) not in enum)
                if found:
                    values[attr] = found
            one = TypeRenames(categories, attributes, values)
            if one:
                kept[label_type] = one
        return Renames(kept)

    def lines(self) -> list[tuple[str, str, str, str, str | None]]:
        """``(type, what, old, new, attribute)`` per rename, ``what`` one of ``category``,
        ``attribute``, ``value`` (``attribute`` is the value's attribute, new name)."""
        out: list[tuple[str, str, str, str, str | None]] = []
        for label_type in sorted(self.types):
            r = self.types[label_type]
            out += [(label_type, "category", o, n, None) for o, n in r.categories.items()]
            out += [(label_type, "attribute", o, n, None) for o, n in r.attributes.items()]
            for attr, pairs in r.values.items():
                out += [(label_type, "value", canon(o), canon(n), attr) for o, n in pairs]
        return out

    def old_attribute(self, label_type: str, attribute: str) -> str:
        """The old name of (new-named) ``attribute`` of ``label_type`` (itself when not renamed)."""
        r = self.types.get(label_type)
        for old, new in (r.attributes.items() if r else ()):
            if new == attribute:
                return old
        return attribute

    # ------------------------------------------------------------------ JSON

    def json(self) -> dict[str, Any]:
        """The JSON form (see the module docstring); ``{}`` when empty."""
        out: dict[str, Any] = {}
        for label_type in sorted(self.types):
            r = self.types[label_type]
            if not r:
                continue
            body: dict[str, Any] = {}
            if r.categories:
                body["categories"] = dict(r.categories)
            if r.attributes:
                body["attributes"] = dict(r.attributes)
            values = {a: [{"from": o, "to": n} for o, n in pairs] for a, pairs in r.values.items() if pairs}
            if values:
                body["values"] = values
            out[label_type] = body
        return out

    @classmethod
    def from_json(cls, data: Any) -> Renames:
        """The inverse of :meth:`json`; anything malformed is left out (plans are untrusted)."""
        types: dict[str, TypeRenames] = {}
        for label_type, body in (data.items() if isinstance(data, Mapping) else ()):
            if not isinstance(body, Mapping):
                continue
            cats = {str(o): str(n) for o, n in _mapping(body.get("categories")).items() if isinstance(n, str)}
            attrs = {str(o): str(n) for o, n in _mapping(body.get("attributes")).items() if isinstance(n, str)}
            values = {
                str(a): tuple((p["from"], p["to"]) for p in pairs if isinstance(p, Mapping) and {"from", "to"} <= set(p))
                for a, pairs in _mapping(body.get("values")).items()
                if isinstance(pairs, list)
            }
            types[str(label_type)] = TypeRenames(cats, attrs, values)
        return cls(types)


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _renamed_sub(sub: dict[str, Any], renames: TypeRenames) -> dict[str, Any]:
    cats = renames.categories

    def parents(value: Any) -> Any:
        return [cats.get(p, p) for p in value] if isinstance(value, list) else value

    if isinstance(sub.get("categories"), list):
        seen: set[Any] = set()
        categories = []
        for c in sub["categories"]:
            if isinstance(c, Mapping) and c.get("name") in cats:
                c = {**c, "name": cats[c["name"]]}
            name = c.get("name") if isinstance(c, Mapping) else c
            if name in seen:
                continue
            seen.add(name)
            categories.append(c)
        sub["categories"] = categories
    if isinstance(sub.get("attributes"), list):
        seen = set()
        attributes = []
        for a in sub["attributes"]:
            if isinstance(a, Mapping):
                a = dict(a)
                a["name"] = renames.attributes.get(a.get("name"), a.get("name"))  # type: ignore[arg-type]
                if "parentCategories" in a:
                    a["parentCategories"] = parents(a["parentCategories"])
                if isinstance(a.get("enum"), list):
                    enum: list[Any] = []
                    for v in a["enum"]:
                        v = renames.value(a["name"], v)
                        if canon(v) not in {canon(x) for x in enum}:
                            enum.append(v)
                    a["enum"] = enum
                if a["name"] in seen:
                    continue
                seen.add(a["name"])
            attributes.append(a)
        sub["attributes"] = attributes
    if isinstance(sub.get("keypoints"), list):
        sub["keypoints"] = [
            {**k, "parentCategories": parents(k["parentCategories"])} if isinstance(k, Mapping) and "parentCategories" in k else k
            for k in sub["keypoints"]
        ]
    return sub
