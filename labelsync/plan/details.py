"""A plan's changes grouped for display (shared by the text and markdown renderers).

Groups hold compact runs (:mod:`labelsync.plan.changelist`) whole, so rendering a plan of a
million file creates builds one change at a time, and :func:`senders` can be limited to the
checksums the shown changes ask about. Pure.
"""

from __future__ import annotations

from collections.abc import Container, Sequence

from labelsync.plan.changelist import ChangeList, FileRun, parts
from labelsync.plan.model import Action, Change, DatasetPlan, Kind

_KIND_ORDER = {kind: i for i, kind in enumerate(Kind)}
_BULK = (Kind.FILE, Kind.LABEL)


def segment_of(change: Change) -> str | None:
    """The segment a change belongs to (its ``segment``, else parsed from the address)."""
    if change.segment is not None:
        return change.segment
    for part in change.address.split("/")[1:]:
        if part.startswith("segment."):
            return part[len("segment.") :]
    return None


def detail_groups(dataset: DatasetPlan) -> list[tuple[str | None, Sequence[Change]]]:
    """Changes grouped by segment (dataset level first), each group ordered by kind (stable).
    A group is a sequence whose compact runs stay runs (changes built when looked at)."""
    groups: dict[str | None, dict[int, list[Change | FileRun]]] = {}
    for part in parts(dataset.changes):
        if isinstance(part, FileRun):
            groups.setdefault(part.segment, {}).setdefault(_KIND_ORDER[Kind.FILE], []).append(part)
        else:
            groups.setdefault(segment_of(part), {}).setdefault(_KIND_ORDER[part.kind], []).append(part)
    return [
        (segment, ChangeList(p for order in sorted(groups[segment]) for p in groups[segment][order]))
        for segment in sorted(groups, key=lambda s: s is not None)
    ]


def senders(dataset: DatasetPlan, among: Container[str] | None = None) -> dict[str, str]:
    """Checksum -> the address of the change of ``dataset`` that uploads that content (only
    the checksums ``among``, when given: what the shown changes ask about)."""
    out: dict[str, str] = {}
    for part in parts(dataset.changes):
        if isinstance(part, FileRun):
            for k, (checksum, sends) in enumerate(part.checksums()):
                if sends and (among is None or checksum in among):
                    out.setdefault(checksum, part.prefix + part.table.paths[part.rows[k]])
        elif part.kind in _BULK and part.file is not None:
            for checksum in part.file.send:
                if among is None or checksum in among:
                    out.setdefault(checksum, part.address)
    return out


def asked(groups: list[tuple[str | None, Sequence[Change]]], verbose: bool, fold: int) -> set[str]:
    """The checksums :func:`change_text` looks up in :func:`senders` for the changes shown:
    those of file creates/updates that send nothing, among the first ``fold`` of each group."""
    out: set[str] = set()
    for _, changes in groups:
        shown = 0
        for change in changes:
            if change.kind is not Kind.FILE:
                if _KIND_ORDER[change.kind] > _KIND_ORDER[Kind.FILE]:
                    break
                continue
            if not verbose and shown >= fold:
                break  # the group is ordered by kind: the files are consecutive
            shown += 1
            if change.action is not Action.DELETE and change.file is not None and not change.upload_bytes:
                out.add(change.file.blob.checksum)
    return out
