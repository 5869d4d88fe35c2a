"""Plan -> terminal text: summary first, then call-outs, then details (terraform-like).

Pure: takes a :class:`~labelsync.plan.model.Plan` value and returns a string (standard
library only). Colour is the caller's: it passes a :data:`Styler` (the CLI passes
``click.style`` on a terminal); without one the text is plain. The building blocks
(:func:`summary_rows`, :func:`callouts`, :func:`detail_groups`, :func:`change_text`) are
shared with :mod:`labelsync.plan.render_markdown`, so both views say the same thing.

Layout of :func:`render_text`::

    Summary:
      dataset city (tensorbay remote default, branch main)
        kept (prune is off): 2 files
        dataset:      1 to create, 0 to update, 0 to delete, 0 to replace; 0 B to upload
        segment day:  3 to create, 1 to update, 0 to delete, 0 to replace; 1.5 MiB to upload
        labels (before -> after):
          day  BOX2D car  1,204 -> 1,251 (+47)
          (12 counts unchanged)

    ! will delete 2 files in dataset.city/segment.night
    ! breaking: dataset.city/catalog: category car removed

    Blocked:
      x dataset.city: ...
    Warnings:
      * dataset.city: ...

    dataset.city
      + dataset.city
      segment day
        + file.0001.jpg  (64.0 KiB to upload)
        ... and 4,980 more files (use --verbose to list all)

    Plan: 3 to create, 1 to update, 0 to delete, 0 to replace; 1.5 MiB to upload.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import groupby
from typing import Any, Protocol

from labelsync.plan.catalogdiff import catalog_changes
from labelsync.plan.changelist import FileRun, outside_runs, parts
from labelsync.plan.details import asked as _asked
from labelsync.plan.details import detail_groups, segment_of, senders
from labelsync.plan.labeldiff import diff_labels, label_of
from labelsync.plan.model import Action, Change, DatasetPlan, Kind, Plan, format_bytes, kept_text
from labelsync.plan.renameplan import catalog_lines, followers_line, split_followers
from labelsync.plan.render_stats import STATS_LIMIT, changed_rows
from labelsync.plan.render_stats import text_lines as stats_text_lines


class Styler(Protocol):
    """Decorates ``text`` for a terminal: ``style(text, fg="red", bold=True)``, like ``click.style``."""

    def __call__(self, text: str, *, fg: str | None = ..., bold: bool | None = ...) -> str: ...


__all__ = [
    "LABEL_FOLD",
    "MARKERS",
    "LabelFold",
    "Styler",
    "SummaryRow",
    "attribute_lines",
    "callouts",
    "change_text",
    "counts_text",
    "detail_groups",
    "live_stats",
    "render_text",
    "segment_of",
    "senders",
    "stats_lines",
    "summary_rows",
]

MARKERS: dict[Action, str] = {
    Action.CREATE: "+",
    Action.UPDATE: "~",
    Action.DELETE: "-",
    Action.REPLACE: "-/+",
}
"""Terraform's markers per action."""

_COLORS: dict[Action, str] = {
    Action.CREATE: "green",
    Action.UPDATE: "yellow",
    Action.DELETE: "red",
    Action.REPLACE: "magenta",
}

_PLURAL = {
    Kind.DATASET: "datasets",
    Kind.SETTINGS: "settings",
    Kind.CATALOG: "catalogs",
    Kind.NOTES: "notes",
    Kind.SEGMENT: "segments",
    Kind.SENSOR: "sensors",
    Kind.FILE: "files",
    Kind.LABEL: "labels",
}
# Kinds with one change per data item: folded in details, counted (not listed) in call-outs.
_BULK = (Kind.FILE, Kind.LABEL)
LABEL_FOLD = 50
"""Label-level lines shown per segment before the rest are counted (all with ``--verbose``)."""


@dataclass(frozen=True)
class SummaryRow:
    """Counts for one dataset-level group (``segment`` None) or one segment of a dataset."""

    dataset: str
    segment: str | None
    counts: Counter[str]
    upload_bytes: int


def summary_rows(dataset: DatasetPlan) -> list[SummaryRow]:
    """One row for the dataset-level changes (when any), then one per segment, in plan order."""
    groups: dict[str | None, tuple[Counter[str], list[int]]] = {}
    for part in parts(dataset.changes):
        if isinstance(part, FileRun):
            counts, nbytes = groups.setdefault(part.segment, (Counter(), [0]))
            counts.update(part.counts())
            nbytes[0] += part.nbytes
            continue
        counts, nbytes = groups.setdefault(segment_of(part), (Counter(), [0]))
        counts[part.action.value] += 1
        nbytes[0] += part.upload_bytes
    return [
        SummaryRow(dataset.name, segment, +groups[segment][0], groups[segment][1][0])
        for segment in sorted(groups, key=lambda s: s is not None)
    ]


def stats_lines(dataset: DatasetPlan, *, limit: int = STATS_LIMIT) -> list[str]:
    """The label counts this plan changes (``labels (before -> after):`` then one row per
    segment, type and category/attribute value), and how many counts stay the same."""
    changed, unchanged = changed_rows(dataset.stats, dataset.renames)
    if not changed:
        return []
    out = ["labels (before -> after):"]
    out += [f"  {line}" for line in stats_text_lines(changed, limit=limit)]
    if unchanged:
        out.append(f"  ({unchanged:,} counts unchanged)")
    return out


def counts_text(counts: Counter[str], upload_bytes: int) -> str:
    """``3 to create, 1 to update, 0 to delete, 0 to replace; 1.5 MiB to upload``."""
    return (
        f"{counts['create']:,} to create, {counts['update']:,} to update, {counts['delete']:,} to delete, "
        f"{counts['replace']:,} to replace; {format_bytes(upload_bytes)} to upload"
    )


def callouts(dataset: DatasetPlan) -> list[str]:
    """Destructive things to call out, one line each, without a leading marker.

    Deletions and replaces of datasets, segments, sensors, catalogs, notes and settings are
    listed one by one; deleted files and labels are counted per segment (a list of them is
    in the details). Breaking changes that are not deletions follow, with their reason.
    """
    lines: list[str] = []
    bulk: dict[str | None, Counter[Kind]] = {}
    for change in outside_runs(dataset.changes):
        if change.action is Action.DELETE and change.kind in _BULK:
            bulk.setdefault(segment_of(change), Counter())[change.kind] += 1
        elif change.action in (Action.DELETE, Action.REPLACE):
            verb = "delete" if change.action is Action.DELETE else "replace (delete, then create)"
            lines.append(f"will {verb} {change.address}" + (f": {change.reason}" if change.reason else ""))
    for segment, kinds in bulk.items():
        what = " and ".join(f"{kinds[k]:,} {_noun(k, kinds[k])}" for k in _BULK if kinds[k])
        where = f"dataset.{dataset.name}" + (f"/segment.{segment}" if segment is not None else "")
        lines.append(f"will delete {what} in {where}")
    for change in outside_runs(dataset.changes):
        if change.breaking and change.action not in (Action.DELETE, Action.REPLACE):
            lines.append(f"breaking: {change.address}" + (f": {change.reason}" if change.reason else ""))
    return lines


def _noun(kind: Kind, n: int) -> str:
    plural = _PLURAL[kind]
    return plural[:-1] if n == 1 and plural.endswith("s") else plural


class LabelFold:
    """The label-level lines of the changes of one segment, at most ``limit`` of them
    (``None``: all); :meth:`note` counts the rest.

    A file or label change lists the labels it adds (``+``), removes (``-``) and changes
    (``~``), from :func:`labelsync.plan.labeldiff.diff_labels`; replaces list nothing (their
    items are the whole new dataset). Once the limit is reached, later changes are not
    diffed at all (a plan of 100,000 label changes stays fast): they are counted as items.
    """

    def __init__(self, limit: int | None) -> None:
        self.left = limit
        self.hidden = 0
        self.hidden_items = 0

    def lines(self, change: Change) -> list[str]:
        if change.kind not in _BULK or change.action is Action.REPLACE:
            return []
        if self.left is not None and self.left <= 0:
            if label_of(change.before) != label_of(change.after):
                self.hidden_items += 1
            return []
        deltas = [d.line() for d in diff_labels(change.before, change.after)]
        if self.left is None:
            return deltas
        shown = deltas[: self.left]
        self.left -= len(shown)
        self.hidden += len(deltas) - len(shown)
        return shown

    def note(self, hint: str = " (use --verbose to list all)") -> str | None:
        parts = []
        if self.hidden:
            parts.append(f"{self.hidden:,} more label {'change' if self.hidden == 1 else 'changes'}")
        if self.hidden_items:
            parts.append(f"the label changes of {self.hidden_items:,} more {'item' if self.hidden_items == 1 else 'items'}")
        return f"... and {' and '.join(parts)}{hint}" if parts else None


def change_text(change: Change, dataset: str, sent: Mapping[str, str] | None = None) -> str:
    """The change's address relative to its group, with size to upload and reason.

    ``dataset.city/segment.day/file.a.jpg`` in segment ``day`` reads ``file.a.jpg``; a
    segment's own change keeps ``segment.day``; dataset-level ones drop ``dataset.city/``.
    A file whose bytes are not sent says why, with its size: ``(12 B, same content as
    file.b.jpg, sent once)`` when another change of the plan (``sent``: :func:`senders`)
    uploads it, ``(12 B, content already on the remote, not sent)`` otherwise.
    """
    prefix = f"dataset.{dataset}/"
    name = change.address[len(prefix) :] if change.address.startswith(prefix) else change.address
    segment = segment_of(change)
    if segment is not None and change.kind is not Kind.SEGMENT and name.startswith(f"segment.{segment}/"):
        name = name[len(f"segment.{segment}/") :]
    notes = []
    if change.upload_bytes:
        notes.append(f"{format_bytes(change.upload_bytes)} to upload")
    elif change.kind is Kind.FILE and change.action is not Action.DELETE and change.file is not None:
        notes.extend(_not_sent(change, sent or {}, dataset))
    if change.breaking and change.action is not Action.DELETE:
        notes.append("breaking")
    text = name + (f"  ({', '.join(notes)})" if notes else "")
    return text + (f"  # {change.reason}" if change.reason else "")


def _not_sent(change: Change, sent: Mapping[str, str], dataset: str) -> list[str]:
    """Size and reason for a file change that uploads no bytes (see :func:`change_text`)."""
    assert change.file is not None
    size, checksum = change.file.blob.size, change.file.blob.checksum
    other = sent.get(checksum)
    if other is not None and other != change.address:
        prefix = f"dataset.{dataset}/"
        name = other[len(prefix):] if other.startswith(prefix) else other
        same_segment = f"segment.{segment_of(change)}/"
        name = name[len(same_segment):] if name.startswith(same_segment) else name
        return [format_bytes(size), f"same content as {name}, sent once"]
    return [format_bytes(size), "content already on the remote, not sent"]


def attribute_lines(change: Change, live_stats: Mapping[str, Any] | None = None, renames: Any = None) -> list[str]:
    """For an update of a small object (catalog, notes, sensor, ...): one line per change.

    A catalog lists its named changes (:func:`labelsync.plan.catalogdiff.catalog_changes`:
    categories, attributes, enum values, ranges, keypoints, isTracking), each flagged
    breaking or not and with the live labels it touches (from ``live_stats``, one side of
    the dataset's label statistics). Anything else lists ``+ key: value``, ``- key: value``
    and ``~ key: old -> new``, nested objects followed (``~ intrinsics.fx: 1 -> 2``), values
    as compact JSON, never cut. Empty for files and labels (see :class:`LabelFold`). With
    ``renames`` (``DatasetPlan.renames``) a catalog lists each rename first, with the live
    labels that follow it (:func:`labelsync.plan.renameplan.catalog_lines`).
    """
    if change.kind in _BULK or change.action is not Action.UPDATE:
        return []
    if change.kind is Kind.CATALOG:
        if renames:
            return catalog_lines(change, renames, live_stats)
        return [c.line() for c in catalog_changes(change.before, change.after, live_stats)]
    return _dict_lines(change.before, change.after, "")


def _dict_lines(before: Any, after: Any, prefix: str) -> list[str]:
    if not isinstance(before, dict) or not isinstance(after, dict):
        where = f"{prefix}: " if prefix else ""
        return [f"~ {where}{_compact(before)} -> {_compact(after)}"]
    lines = []
    for key in sorted(set(before) | set(after), key=str):
        name = f"{prefix}.{key}" if prefix else str(key)
        if key not in before:
            lines.append(f"+ {name}: {_compact(after[key])}")
        elif key not in after:
            lines.append(f"- {name}: {_compact(before[key])}")
        elif before[key] != after[key]:
            if isinstance(before[key], dict) and isinstance(after[key], dict):
                lines.extend(_dict_lines(before[key], after[key], name))
            else:
                lines.append(f"~ {name}: {_compact(before[key])} -> {_compact(after[key])}")
    return lines


def _compact(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def render_text(
    plan: Plan, *, verbose: bool = False, style: Styler | None = None, fold: int = 20, label_fold: int = LABEL_FOLD
) -> str:
    """The plan for a terminal, ending with ``plan.summary_line()`` and a newline.

    Within each group (dataset, segment, kind) at most ``fold`` files or labels are listed,
    then ``... and N more files (use --verbose to list all)``; under each, its label-level
    changes (at most ``label_fold`` lines per segment, then a count: :class:`LabelFold`);
    ``verbose`` lists everything.
    Colour only through ``style`` (e.g. ``click.style``); the text is otherwise identical.
    """
    if style is None:
        style = _plain

    out: list[str] = []
    drift = any(d.kept for d in plan.datasets)
    if plan.has_changes or plan.blocked or drift:
        out.append(style("Summary:", bold=True))
    for dataset in plan.datasets:
        head = f"dataset {dataset.name} ({dataset.where()})"
        kept = f"kept (prune is off): {kept_text(dataset.kept)}" if dataset.kept else ""
        if not dataset.has_changes:
            proven = " (proven by the recorded desired-state digest)" if dataset.noop_proven else ""
            if plan.has_changes or plan.blocked or drift:
                out.append(f"  {head}: no changes{proven}" + (f"; {kept}" if kept else ""))
            continue
        out.append(f"  {head}")
        if kept:
            out.append(f"    {kept}")
        rows = summary_rows(dataset)
        labels = ["dataset" if r.segment is None else f"segment {r.segment}" for r in rows]
        width = max(len(label) for label in labels) + 1
        for label, row in zip(labels, rows, strict=True):
            out.append(f"    {label + ':':<{width}}  {counts_text(row.counts, row.upload_bytes)}")
        out.extend(f"    {line}" for line in stats_lines(dataset))

    warn_lines = [line for d in plan.datasets for line in callouts(d)]
    if warn_lines:
        out.append("")
        out.extend(style(f"! {line}", fg="red", bold=True) for line in warn_lines)
    blocked = [f"dataset.{d.name}: {reason}" for d in plan.datasets for reason in d.blocked]
    if blocked:
        out.append("")
        out.append(style("Blocked (apply will refuse this plan):", fg="red", bold=True))
        out.extend(f"  x {line}" for line in blocked)
    warnings = [f"dataset.{d.name}: {w}" for d in plan.datasets for w in d.warnings]
    if warnings:
        out.append("")
        out.append(style("Warnings:", fg="yellow", bold=True))
        out.extend(f"  * {line}" for line in warnings)

    for dataset in plan.datasets:
        if not dataset.has_changes:
            continue
        out.append("")
        out.append(style(f"dataset.{dataset.name}", bold=True))
        groups = detail_groups(dataset)
        sent = senders(dataset, _asked(groups, verbose, fold))
        for segment, changes in groups:
            indent = "    " if segment is not None else "  "
            if segment is not None:
                out.append(f"  segment {segment}")
            changes, followers = split_followers(changes, dataset.renames)
            if (follow := followers_line(followers, dataset.renames)) is not None:
                out.append(indent + follow)
            label_lines = LabelFold(None if verbose else label_fold)
            out.extend(indent + line for line in _change_lines(
                changes, dataset.name, verbose, fold, style, sent, label_lines, live_stats(dataset), dataset.renames
            ))
            if (note := label_lines.note()) is not None:
                out.append(indent + note)

    if out:
        out.append("")
    out.append(style(plan.summary_line(), bold=True))
    return "\n".join(out) + "\n"


def _plain(text: str, *, fg: str | None = None, bold: bool | None = None) -> str:
    return text


def live_stats(dataset: DatasetPlan) -> Mapping[str, Any] | None:
    """The live side of a dataset plan's label statistics (``None`` when not computed)."""
    stats = dataset.stats
    return stats.get("before") if isinstance(stats, dict) else None


def _change_lines(
    changes: Sequence[Change], dataset: str, verbose: bool, fold: int, style: Styler, sent: Mapping[str, str], labels: LabelFold,
    live_stats: Mapping[str, Any] | None = None, renames: Any = None,
) -> list[str]:
    """Marker lines for one group (changes already ordered by kind), files and labels folded."""
    lines: list[str] = []
    for kind, same_kind in groupby(changes, key=lambda c: c.kind):
        every = verbose or kind not in _BULK
        hidden = 0
        for k, change in enumerate(same_kind):  # one change at a time: a group may be a compact run
            if not every and k >= fold:
                hidden += 1
                continue
            marker = style(f"{MARKERS[change.action]} ", fg=_COLORS[change.action])
            lines.append(marker + change_text(change, dataset, sent))
            lines.extend(f"    {line}" for line in attribute_lines(change, live_stats, renames))
            lines.extend(f"    {line}" for line in labels.lines(change))
        if hidden > 0:
            lines.append(f"... and {hidden:,} more {_noun(kind, hidden)} (use --verbose to list all)")
    return lines
