"""Local labels that still use old names, read as the new ones (``renamedFrom``).

:func:`follow_renames` gives a segment's :class:`~labelsync.local.labelsets.LabelSet` with
every declared rename (:class:`labelsync.renames.Renames`) followed: the copy that
validation checks against the catalog and that the desired state is built from, so a label
file written before a rename stays valid, and the plan sends the new names. It also says
which items used an old name, so ``labelsync validate`` can warn and ``labelsync migrate``
can rewrite exactly those (:func:`rename_warning`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from labelsync.diagnostics import Diagnostic
from labelsync.local.labels import LabelRecord
from labelsync.local.labelsets import LabelSet
from labelsync.renames import Renames, canon

__all__ = ["Followed", "follow_renames", "rename_warning", "used_renames"]


@dataclass(frozen=True)
class Followed:
    """``labels``: the label set with the renames followed (the same object when no label
    used an old name); ``changed``: the remote paths whose label did, in file order;
    ``used``: the renames they use, as ``BOX2D category bus -> coach``."""

    labels: LabelSet
    changed: tuple[str, ...] = ()
    used: tuple[str, ...] = ()


def follow_renames(found: LabelSet, renames: Renames) -> Followed:
    """``found`` with ``renames`` followed (see the module docstring); never touches files."""
    if not renames:
        return Followed(found)
    records: dict[str, LabelRecord] = {}
    changed: list[str] = []
    used: list[str] = []
    for rp, record in found.records.items():
        label = renames.label(record.label)
        if label is not record.label and label != record.label:
            changed.append(rp)
            used += [u for u in used_renames(renames, record.label) if u not in used]
            record = dataclasses.replace(record, label=label)
        records[rp] = record
    if not changed:
        return Followed(found)
    catalog = renames.catalog(found.catalog) if found.catalog is not None else None
    return Followed(dataclasses.replace(found, records=records, catalog=catalog), tuple(changed), tuple(used))


def used_renames(renames: Renames, label: Mapping[str, Any]) -> list[str]:
    """The renames ``label`` (old names) uses: ``BOX2D category bus -> coach``,
    ``BOX2D attribute hidden -> occluded``, ``BOX2D colour value "red" -> "crimson"``."""
    out: list[str] = []
    for label_type, value in label.items():
        r = renames.types.get(label_type)
        if not r:
            continue
        for obj in value if isinstance(value, list) else [value]:
            if not isinstance(obj, Mapping):
                continue
            category = obj.get("category")
            if isinstance(category, str) and category in r.categories:
                out.append(f"{label_type} category {category} -> {r.categories[category]}")
            attrs = obj.get("attributes")
            for key, v in (attrs.items() if isinstance(attrs, Mapping) else ()):
                name = r.attributes.get(key, key)
                if name != key:
                    out.append(f"{label_type} attribute {key} -> {name}")
                new = r.value(name, v)
                if canon(new) != canon(v):
                    out.append(f"{label_type} {name} value {canon(v)} -> {canon(new)}")
    return list(dict.fromkeys(out))


def rename_warning(followed: Followed) -> Diagnostic | None:
    """The warning of ``labelsync validate`` for labels that use old names, located at the
    first of them; ``None`` when none does."""
    if not followed.changed:
        return None
    file, line, column = followed.labels.where(followed.changed[0], ("label",))
    n = len(followed.changed)
    what = "; ".join(followed.used[:3]) + (f"; and {len(followed.used) - 3} more" if len(followed.used) > 3 else "")
    return Diagnostic(
        file, line, column,
        f"{n:,} label{'s' if n != 1 else ''} still use{'s' if n == 1 else ''} old names ({what}); "
        "they are read as the new names",
        hint="run `labelsync migrate` to rewrite the label files with the new names",
        severity="warning",
    )
