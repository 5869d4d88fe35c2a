"""The renames a manifest's catalog declares, and their semantic rules (pure).

``renamedFrom`` on a category or an attribute, and ``renamedValues: [{value, renamedFrom}]``
on an enum attribute, declare that the thing had another name or value before
(:mod:`labelsync.renames` says what follows from that). :func:`catalog_renames` collects
them; :func:`check_renames` reports what makes a rename ambiguous, each at its
``file:line:column``:

* the old name is still declared in the same label type (then which one is meant?);
* two entries rename from the same old name;
* a renamed value is not in the attribute's ``enum``, its old value still is, or the
  attribute has no ``enum``.
"""

from __future__ import annotations

from typing import Any

from labelsync.diagnostics import Diagnostic
from labelsync.manifest.load import Document, JsonPath
from labelsync.manifest.model import Catalog, Manifest
from labelsync.renames import Renames, TypeRenames, canon

__all__ = ["catalog_renames", "check_renames"]


def catalog_renames(catalog: Catalog | Manifest | None) -> Renames:
    """The renames the catalog (or the manifest's catalog) declares, per label type."""
    if isinstance(catalog, Manifest):
        catalog = catalog.spec.catalog
    if catalog is None:
        return Renames()
    types: dict[str, TypeRenames] = {}
    for key, sub in catalog.types().items():
        cats = {c.renamed_from: c.name for c in getattr(sub, "categories", None) or [] if c.renamed_from}
        attrs = {a.renamed_from: a.name for a in sub.attributes or [] if a.renamed_from}
        values = {
            a.name: tuple((v.renamed_from, v.value) for v in a.renamed_values) for a in sub.attributes or [] if a.renamed_values
        }
        one = TypeRenames(cats, attrs, values)
        if one:
            types[key] = one
    return Renames(types)


def check_renames(doc: Document, catalog: Catalog, base: JsonPath) -> list[Diagnostic]:
    """Problems of the renames in ``catalog`` (at ``base``, e.g. ``("spec", "catalog")``)."""
    out: list[Diagnostic] = []
    for label_type, sub in catalog.types().items():
        here = base + (label_type,)
        out += _names(doc, getattr(sub, "categories", None) or [], here + ("categories",), "category", label_type)
        out += _names(doc, sub.attributes or [], here + ("attributes",), "attribute", label_type)
        for i, attr in enumerate(sub.attributes or []):
            out += _values(doc, attr, here + ("attributes", i))
    return out


def _names(doc: Document, entries: list[Any], base: JsonPath, what: str, label_type: str) -> list[Diagnostic]:
    out: list[Diagnostic] = []
    names = {e.name for e in entries}
    first: dict[str, int] = {}
    for i, entry in enumerate(entries):
        old = entry.renamed_from
        if old is None:
            continue
        where = base + (i, "renamedFrom")
        if old in names:
            out.append(doc.diagnostic(
                where, f"{label_type} {what} {entry.name!r} is renamed from {old!r}, which is still declared",
                hint=f"remove the {what} {old!r}, or the renamedFrom",
            ))  # fmt: skip
        elif old in first:
            out.append(doc.diagnostic(
                where, f"{label_type} {what}s {entries[first[old]].name!r} and {entry.name!r} are both renamed from {old!r}",
                hint="a name can be renamed to one new name only",
            ))  # fmt: skip
        first.setdefault(old, i)
    return out


def _values(doc: Document, attr: Any, here: JsonPath) -> list[Diagnostic]:
    if not attr.renamed_values:
        return []
    if attr.enum is None:
        return [doc.diagnostic(here + ("renamedValues",), f"attribute {attr.name!r} has renamedValues but no enum",
                               hint="renamedValues renames values of the enum", key=True)]
    out: list[Diagnostic] = []
    enum = {canon(v) for v in attr.enum}
    seen: set[str] = set()
    for j, entry in enumerate(attr.renamed_values):
        where = here + ("renamedValues", j)
        if canon(entry.value) not in enum:
            out.append(doc.diagnostic(where + ("value",), f"renamed value {canon(entry.value)} is not in the enum of {attr.name!r}",
                                      hint="add it to the enum"))
        if canon(entry.renamed_from) in enum:
            out.append(doc.diagnostic(where + ("renamedFrom",),
                                      f"old value {canon(entry.renamed_from)} is still in the enum of {attr.name!r}",
                                      hint="remove it from the enum, or the rename"))
        elif canon(entry.renamed_from) in seen:
            out.append(doc.diagnostic(where + ("renamedFrom",), f"value {canon(entry.renamed_from)} is renamed twice",
                                      hint="a value can be renamed to one new value only"))
        seen.add(canon(entry.renamed_from))
    return out
