"""Renames in a plan: one named catalog change, with the labels that follow it (pure).

The desired state already holds the new names (:mod:`labelsync.local.renamed`), so the
differ sees the remote's catalog lose ``bus`` and gain ``coach``, and every live label of
``bus`` change. :func:`plan_renames` turns that back into what it is, given the renames the
manifest declares (``Desired.renames``):

* ``DatasetPlan.renames`` keeps the renames the remote still needs (:meth:`Renames.effective`);
* the catalog change is breaking only if it still is once the live catalog is read with the
  new names (a rename alone invalidates no label: they follow);
* a provider that cannot rename in place (``Capabilities.renames_in_place`` False) says so
  in the plan's warnings, and the change is a ``replace`` of the dataset, which needs
  ``allowReplace`` like any other replace.

The views then show the catalog change as ``~ BOX2D category: rename bus -> coach (312 labels
follow)`` (:func:`catalog_lines`; the count is of live labels, from the plan's statistics),
and fold the label changes that only follow a rename into one line per segment
(:func:`split_followers`, :func:`followers_line`) instead of one line per item.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

from labelsync.plan.catalogdiff import CatalogChange, catalog_changes
from labelsync.plan.differ import build_dataset_plan, catalog_breaks
from labelsync.plan.labeldiff import label_of, labels_equal
from labelsync.plan.model import Action, Change, DatasetPlan, FileChange, Kind, LabelState
from labelsync.plan.stats import touches
from labelsync.providers.contract import Capabilities
from labelsync.renames import Renames
from labelsync.state import Desired, Item, Live

__all__ = ["Followers", "catalog_lines", "followers_line", "plan_renames", "rename_changes", "split_followers"]


def plan_renames(plan: DatasetPlan, desired: Desired, live: Live, capabilities: Capabilities, *, root: str = "") -> DatasetPlan:
    """``plan`` (from :func:`~labelsync.plan.differ.build_dataset_plan`) with the declared
    renames carried out (see the module docstring); unchanged when none applies."""
    remote = live.dataset if live.complete else None
    if remote is None or not plan.changes:
        return plan
    renames = desired.renames.effective(remote.catalog)
    if not renames:
        return plan
    what = ", ".join(f"{t} {w} {o} -> {n}" for t, w, o, n, _ in renames.lines())
    warnings = list(plan.warnings)
    if not capabilities.renames_in_place:
        warnings.append(
            f"{desired.dataset.provider} cannot rename in place ({what}): the dataset is replaced (deleted and "
            "created again, its labels sent with the new names), which needs spec.allowReplace: true"
        )
        if capabilities.content_mutable:  # the differ did not make it a replace: it is one
            stats = plan.stats
            plan = build_dataset_plan(desired, live, root=root,
                                      capabilities=dataclasses.replace(capabilities, content_mutable=False))
            plan = dataclasses.replace(plan, stats=stats)
        return dataclasses.replace(plan, warnings=tuple(warnings), renames=renames.json())
    changes = []
    for change in plan.changes:
        if change.kind is Kind.CATALOG and change.action is Action.UPDATE:
            breaking, why = catalog_breaks(renames.catalog(dict(change.before or {})), dict(change.after or {}))
            change = dataclasses.replace(change, breaking=breaking, reason=why)
        changes.append(change)
    return dataclasses.replace(plan, changes=tuple(changes), renames=renames.json())


class RenameChange(CatalogChange):
    """A rename as a catalog change: ``~ BOX2D category: rename bus -> coach (312 labels follow)``."""

    def line(self) -> str:
        follow = "" if self.touches is None else f" ({self.touches:,} label{'' if self.touches == 1 else 's'} follow{'s' if self.touches == 1 else ''})"
        return f"{self.op} {self.text}{follow}"


def rename_changes(renames: Any, live_stats: Mapping[str, Any] | None = None) -> list[CatalogChange]:
    """One change per rename of ``renames`` (its JSON), with the live labels that follow it
    (``None`` without ``live_stats``)."""
    r = renames if isinstance(renames, Renames) else Renames.from_json(renames)
    out: list[CatalogChange] = []
    for label_type, what, old, new, attr in r.lines():
        if what == "category":
            n = touches(live_stats, label_type, category=old) if live_stats is not None else None
            out.append(RenameChange("~", f"{label_type} category: rename {old} -> {new}", False, n))
        elif what == "attribute":
            n = touches(live_stats, label_type, attribute=old) if live_stats is not None else None
            out.append(RenameChange("~", f"{label_type} attribute: rename {old} -> {new}", False, n))
        else:
            assert attr is not None
            before = r.old_attribute(label_type, attr)
            n = touches(live_stats, label_type, attribute=before, values=[old]) if live_stats is not None else None
            out.append(RenameChange("~", f"{label_type} attribute {attr}: rename value {old} -> {new}", False, n))
    return out


def catalog_lines(change: Change, renames: Any, live_stats: Mapping[str, Any] | None = None) -> list[str]:
    """The named changes of a catalog update: the renames first, then what else changed
    between the live catalog read with the new names and the desired one."""
    r = Renames.from_json(renames)
    lines = [c.line() for c in rename_changes(r, live_stats)]
    return lines + [c.line() for c in catalog_changes(r.catalog(change.before), change.after, live_stats)]


@dataclasses.dataclass(frozen=True)
class Followers:
    """The label changes of one segment that only follow renames: ``items`` changes holding
    ``labels`` labels whose names changed."""

    items: int = 0
    labels: int = 0


def split_followers(changes: Sequence[Change], renames: Any) -> tuple[Sequence[Change], Followers]:
    """``changes`` without the label changes that only follow ``renames`` (counted in the
    :class:`Followers`); a label change that also changes something else stays, with its
    ``before`` label read with the new names, so its label diff shows only that."""
    r = Renames.from_json(renames) if renames else Renames()
    if not r:
        return changes, Followers()
    out: list[Change] = []
    items = labels = 0
    for change in changes:
        if change.kind not in (Kind.LABEL, Kind.FILE) or change.action is not Action.UPDATE or not isinstance(change.before, LabelState | Item):
            out.append(change)
            continue
        old = label_of(change.before)
        renamed = r.label(old)
        if renamed == old:
            out.append(change)
            continue
        if change.kind is Kind.LABEL and labels_equal(renamed, label_of(change.after)) and _same_rest(change):
            items += 1
            labels += _moved(old, renamed)
            continue
        out.append(dataclasses.replace(change, before=dataclasses.replace(change.before, label=renamed)))
    return out, Followers(items, labels)


def followers_line(followers: Followers, renames: Any) -> str | None:
    """``~ 312 labels of 200 items follow the renames (bus -> coach)`` (``1 label of 1 item
    follows``), or ``None``. Items whose labels also change otherwise are not counted here:
    they are listed, their diff read with the new names."""
    if not followers.items:
        return None
    names = ", ".join(f"{o} -> {n}" for _, _, o, n, _ in Renames.from_json(renames).lines())
    s = "" if followers.items == 1 else "s"
    one = followers.labels == 1
    return f"~ {followers.labels:,} label{'' if one else 's'} of {followers.items:,} item{s} follow{'s' if one else ''} the renames ({names})"


def _same_rest(change: Change) -> bool:
    """The label change's timestamp, frame and sensor are unchanged (typed before/after)."""
    before, after = change.before, change.after
    return isinstance(after, FileChange) and all(
        getattr(before, k) == getattr(after, k) for k in ("timestamp", "frame_id", "sensor_name")
    )


def _moved(old: Mapping[str, Any], new: Mapping[str, Any]) -> int:
    """How many label objects differ between ``old`` and its renamed ``new`` (same order)."""
    n = 0
    for t, value in old.items():
        a = value if isinstance(value, list) else [value]
        b = new.get(t)
        b = b if isinstance(b, list) else [b]
        n += sum(1 for x, y in zip(a, b, strict=False) if x != y)
    return n
