"""Plan -> terminal text: summary first, then call-outs, then details (terraform-like).

Pure: takes a :class:`~labelsync.plan.model.Plan` value and returns a string (standard
library only). Colour is the caller's: it passes a :data:`Styler` (the CLI passes
``click.style`` on a terminal); without one the text is plain. The building blocks
(:func:`summary_rows`, :func:`callouts`, :func:`detail_groups`, :func:`change_text`) are
shared with :mod:`labelsync.plan.render_markdown`, so both views say the same thing.

Layout of :func:`render_text`::

    Summary:
      dataset city (tensorbay remote default, branch main)
        dataset:      1 to create, 0 to update, 0 to delete, 0 to replace; 0 B to upload
        segment day:  3 to create, 1 to update, 0 to delete, 0 to replace; 1.5 MiB to upload

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
from collections.abc import Mapping
from dataclasses import dataclass
from itertools import groupby
from typing import Any, Protocol

from labelsync.plan.model import Action, Change, DatasetPlan, Kind, Plan, format_bytes


class Styler(Protocol):
    """Decorates ``text`` for a terminal: ``style(text, fg="red", bold=True)``, like ``click.style``."""

    def __call__(self, text: str, *, fg: str | None = ..., bold: bool | None = ...) -> str: ...


__all__ = [
    "MARKERS",
    "Styler",
    "SummaryRow",
    "attribute_lines",
    "callouts",
    "change_text",
    "counts_text",
    "detail_groups",
    "render_text",
    "segment_of",
    "senders",
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

_KIND_ORDER = {kind: i for i, kind in enumerate(Kind)}
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
_VALUE_WIDTH = 60


@dataclass(frozen=True)
class SummaryRow:
    """Counts for one dataset-level group (``segment`` None) or one segment of a dataset."""

    dataset: str
    segment: str | None
    counts: Counter[str]
    upload_bytes: int


def segment_of(change: Change) -> str | None:
    """The segment a change belongs to (its ``segment``, else parsed from the address)."""
    if change.segment is not None:
        return change.segment
    for part in change.address.split("/")[1:]:
        if part.startswith("segment."):
            return part[len("segment.") :]
    return None


def summary_rows(dataset: DatasetPlan) -> list[SummaryRow]:
    """One row for the dataset-level changes (when any), then one per segment, in plan order."""
    groups: dict[str | None, list[Change]] = {}
    for change in dataset.changes:
        groups.setdefault(segment_of(change), []).append(change)
    rows = []
    for segment in sorted(groups, key=lambda s: s is not None):
        changes = groups[segment]
        counts = Counter(c.action.value for c in changes)
        rows.append(SummaryRow(dataset.name, segment, counts, sum(c.upload_bytes for c in changes)))
    return rows


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
    for change in dataset.changes:
        if change.action is Action.DELETE and change.kind in _BULK:
            bulk.setdefault(segment_of(change), Counter())[change.kind] += 1
        elif change.action in (Action.DELETE, Action.REPLACE):
            verb = "delete" if change.action is Action.DELETE else "replace (delete, then create)"
            lines.append(f"will {verb} {change.address}" + (f": {change.reason}" if change.reason else ""))
    for segment, kinds in bulk.items():
        what = " and ".join(f"{kinds[k]:,} {_noun(k, kinds[k])}" for k in _BULK if kinds[k])
        where = f"dataset.{dataset.name}" + (f"/segment.{segment}" if segment is not None else "")
        lines.append(f"will delete {what} in {where}")
    for change in dataset.changes:
        if change.breaking and change.action not in (Action.DELETE, Action.REPLACE):
            lines.append(f"breaking: {change.address}" + (f": {change.reason}" if change.reason else ""))
    return lines


def _noun(kind: Kind, n: int) -> str:
    plural = _PLURAL[kind]
    return plural[:-1] if n == 1 and plural.endswith("s") else plural


def detail_groups(dataset: DatasetPlan) -> list[tuple[str | None, list[Change]]]:
    """Changes grouped by segment (dataset level first), each group ordered by kind (stable)."""
    groups: dict[str | None, list[Change]] = {}
    for change in dataset.changes:
        groups.setdefault(segment_of(change), []).append(change)
    return [
        (segment, sorted(groups[segment], key=lambda c: _KIND_ORDER[c.kind]))
        for segment in sorted(groups, key=lambda s: s is not None)
    ]


def senders(dataset: DatasetPlan) -> dict[str, str]:
    """Checksum -> the address of the change of ``dataset`` that uploads that content."""
    out: dict[str, str] = {}
    for change in dataset.changes:
        if change.kind in _BULK and isinstance(change.after, dict):
            for checksum in change.after.get("send") or ():
                out.setdefault(checksum, change.address)
    return out


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
    elif change.kind is Kind.FILE and change.action is not Action.DELETE and isinstance(change.after, dict):
        notes.extend(_not_sent(change, sent or {}, dataset))
    if change.breaking and change.action is not Action.DELETE:
        notes.append("breaking")
    text = name + (f"  ({', '.join(notes)})" if notes else "")
    return text + (f"  # {change.reason}" if change.reason else "")


def _not_sent(change: Change, sent: Mapping[str, str], dataset: str) -> list[str]:
    """Size and reason for a file change that uploads no bytes (see :func:`change_text`)."""
    size, checksum = change.after.get("fileSize"), change.after.get("checksum")
    if not isinstance(size, int) or not isinstance(checksum, str):
        return []
    other = sent.get(checksum)
    if other is not None and other != change.address:
        prefix = f"dataset.{dataset}/"
        name = other[len(prefix):] if other.startswith(prefix) else other
        same_segment = f"segment.{segment_of(change)}/"
        name = name[len(same_segment):] if name.startswith(same_segment) else name
        return [format_bytes(size), f"same content as {name}, sent once"]
    return [format_bytes(size), "content already on the remote, not sent"]


def attribute_lines(change: Change) -> list[str]:
    """For an update of a small object (catalog, notes, sensor, ...): one line per changed key.

    ``+ key: value``, ``- key: value`` and ``~ key: old -> new``, values as compact JSON cut
    to 60 characters. Empty for files and labels, whose values are fingerprints.
    """
    if change.kind in _BULK or change.action is not Action.UPDATE:
        return []
    before, after = change.before, change.after
    if not isinstance(before, dict) or not isinstance(after, dict):
        return [f"~ {_short(before)} -> {_short(after)}"]
    lines = []
    for key in sorted(set(before) | set(after), key=str):
        if key not in before:
            lines.append(f"+ {key}: {_short(after[key])}")
        elif key not in after:
            lines.append(f"- {key}: {_short(before[key])}")
        elif before[key] != after[key]:
            lines.append(f"~ {key}: {_short(before[key])} -> {_short(after[key])}")
    return lines


def _short(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return text if len(text) <= _VALUE_WIDTH else text[: _VALUE_WIDTH - 3] + "..."


def render_text(plan: Plan, *, verbose: bool = False, style: Styler | None = None, fold: int = 20) -> str:
    """The plan for a terminal, ending with ``plan.summary_line()`` and a newline.

    Within each group (dataset, segment, kind) at most ``fold`` files or labels are listed,
    then ``... and N more files (use --verbose to list all)``; ``verbose`` lists everything.
    Colour only through ``style`` (e.g. ``click.style``); the text is otherwise identical.
    """
    if style is None:
        style = _plain

    out: list[str] = []
    if plan.has_changes or plan.blocked:
        out.append(style("Summary:", bold=True))
    for dataset in plan.datasets:
        head = f"dataset {dataset.name} ({dataset.where()})"
        if not dataset.has_changes:
            proven = " (proven by the recorded desired-state digest)" if dataset.noop_proven else ""
            if plan.has_changes or plan.blocked:
                out.append(f"  {head}: no changes{proven}")
            continue
        out.append(f"  {head}")
        rows = summary_rows(dataset)
        labels = ["dataset" if r.segment is None else f"segment {r.segment}" for r in rows]
        width = max(len(label) for label in labels) + 1
        for label, row in zip(labels, rows, strict=True):
            out.append(f"    {label + ':':<{width}}  {counts_text(row.counts, row.upload_bytes)}")

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
        sent = senders(dataset)
        for segment, changes in detail_groups(dataset):
            indent = "    " if segment is not None else "  "
            if segment is not None:
                out.append(f"  segment {segment}")
            out.extend(indent + line for line in _change_lines(changes, dataset.name, verbose, fold, style, sent))

    if out:
        out.append("")
    out.append(style(plan.summary_line(), bold=True))
    return "\n".join(out) + "\n"


def _plain(text: str, *, fg: str | None = None, bold: bool | None = None) -> str:
    return text


def _change_lines(changes: list[Change], dataset: str, verbose: bool, fold: int, style: Styler, sent: Mapping[str, str]) -> list[str]:
    """Marker lines for one group (changes already ordered by kind), files and labels folded."""
    lines: list[str] = []
    for kind, same_kind in groupby(changes, key=lambda c: c.kind):
        chunk = list(same_kind)
        limit = len(chunk) if verbose or kind not in _BULK else fold
        for change in chunk[:limit]:
            marker = style(f"{MARKERS[change.action]} ", fg=_COLORS[change.action])
            lines.append(marker + change_text(change, dataset, sent))
            lines.extend(f"    {line}" for line in attribute_lines(change))
        hidden = len(chunk) - limit
        if hidden > 0:
            lines.append(f"... and {hidden:,} more {_noun(kind, hidden)} (use --verbose to list all)")
    return lines
